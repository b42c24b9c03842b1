/**
 * Terminal and line injection: every outside-supplied field that reaches text output (status, and the
 * final error line) carries an ESC sequence and a newline that would forge a line. Nothing raw may come
 * out: no control character but the line ends, and no forged line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, type CliResult } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

const ESC_AND_FORGED_EXPIRY = '\u001b[2J\u001b]0;owned\u0007\n  expires: 2099-01-01T00:00:00.000Z (in 27000d)';
const ESC_AND_FORGED_ERROR = '\u001b[31m\rclaude-creds: forged line\u009b0m';
const HOUR = 3600_000;

/** A raw control character other than the newline that ends each line. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function expectInert(result: CliResult): void {
  for (const [name, text] of [['stdout', result.stdout], ['stderr', result.stderr]] as const) {
    expect(RAW_CONTROL.test(text), `${name} holds a raw control character: ${JSON.stringify(text)}`).toBe(false);
    const lines = text.split('\n');
    expect(lines.filter((line) => /^\s*expires: 2099/.test(line)), `${name} has a forged expires line`).toEqual([]);
    expect(lines.filter((line) => line.startsWith('claude-creds: forged')), `${name} has a forged error line`).toEqual([]);
  }
}

/** A Vault that refuses every call with an error message of its choosing. */
let hostileVault: Server;
let vaultUrl: string;
beforeAll(async () => {
  hostileVault = createServer((request, response) => {
    request.resume();
    response.writeHead(403, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ errors: [`permission denied${ESC_AND_FORGED_ERROR}`] }));
  });
  await new Promise<void>((resolve) => hostileVault.listen(0, '127.0.0.1', resolve));
  vaultUrl = `http://127.0.0.1:${(hostileVault.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => hostileVault.close(() => resolve()));
});

describe('outside text reaches the terminal only escaped', () => {
  const tempDir = useTempDir();

  const cases: Array<[string, (dir: string) => Promise<CliResult>]> = [
    [
      'status: subscriptionType',
      async (dir) => {
        writeFileSync(join(dir, '.credentials.json'), makeFakeCredentials({ expiresAt: Date.now() + HOUR, subscriptionType: `max${ESC_AND_FORGED_EXPIRY}` }).json);
        return runCli(['status', '--out', join(dir, '.credentials.json')]);
      },
    ],
    [
      'status: a scope',
      async (dir) => {
        writeFileSync(join(dir, '.credentials.json'), makeFakeCredentials({ expiresAt: Date.now() + HOUR, scopes: ['user:inference', `user:profile${ESC_AND_FORGED_EXPIRY}`] }).json);
        return runCli(['status', '--out', join(dir, '.credentials.json')]);
      },
    ],
    [
      'status: the path, on a valid file',
      async (dir) => {
        const odd = join(dir, `cfg${ESC_AND_FORGED_EXPIRY.replace(/\//g, '-')}`);
        mkdirSync(odd);
        writeFileSync(join(odd, '.credentials.json'), makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json);
        return runCli(['status', '--out', join(odd, '.credentials.json')]);
      },
    ],
    [
      'status: the problem, on a missing file (it names the path)',
      async (dir) => runCli(['status', '--out', join(dir, `gone${ESC_AND_FORGED_EXPIRY.replace(/\//g, '-')}`, '.credentials.json')]),
    ],
    [
      'the final error line: a store\'s error message',
      async (dir) =>
        runCli(['fetch', '--provider', 'vault', '--secret', 'secret/claude', '--out', join(dir, '.credentials.json'), '--timeout', '5s'], {
          env: { VAULT_ADDR: vaultUrl, VAULT_TOKEN: 'hvs.FAKE-injection-test-token', CLAUDE_CREDS_LOG_LEVEL: 'silent' },
        }),
    ],
    [
      'the final error line: a path it names',
      async (dir) => {
        const odd = join(dir, `link${ESC_AND_FORGED_ERROR}`);
        writeFileSync(join(dir, 'elsewhere'), '');
        const { symlinkSync } = await import('node:fs');
        symlinkSync(join(dir, 'elsewhere'), odd);
        return runCli(['fetch', '--out', odd], { env: { CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64, CLAUDE_CREDS_LOG_LEVEL: 'silent' } });
      },
    ],
  ];

  test.each(cases)('%s', async (_name, run) => {
    const result = await run(tempDir());
    expect(result.stdout + result.stderr).not.toBe('');
    expectInert(result);
    // The text is still there, escaped: nothing was dropped silently.
    expect(result.stdout + result.stderr).toMatch(/\\u001b/);
  });

  test.each([
    ['status --json', (file: string) => runCli(['status', '--json', '--out', file])],
  ])('%s: C1 controls and line separators, which JSON.stringify leaves raw, come out escaped', async (_name, run) => {
    const file = join(tempDir(), '.credentials.json');
    const subscriptionType = `max\u009b2J\u2028\u202e${ESC_AND_FORGED_EXPIRY}`;
    writeFileSync(file, makeFakeCredentials({ expiresAt: Date.now() + HOUR, subscriptionType }).json);
    const result = await run(file);
    expectInert(result);
    expect(result.stdout).not.toMatch(/[\u2028\u2029\u202a-\u202e]/);
    expect((JSON.parse(result.stdout) as { subscriptionType: string }).subscriptionType).toBe(subscriptionType);
  });

  test('the check itself catches raw output (so a pass means something)', () => {
    expect(() => expectInert({ code: 0, signal: null, stdout: `x${ESC_AND_FORGED_EXPIRY}\n`, stderr: '' })).toThrow();
    expect(() => expectInert({ code: 0, signal: null, stdout: '', stderr: `claude-creds: a\nclaude-creds: forged line\n` })).toThrow();
  });
});
