import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fatalMessage, runCli } from '../support/cli.js';
import { useTempDir } from '../support/temp-dir.js';
import { fakeSetupToken } from './support.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const year = 365 * 24 * 3600_000;

/**
 * A worker that reads the token the way the Claude CLI does (through /proc/self/fd/N, and plainly by
 * descriptor number), prints only its hash, then dumps its whole environment: the suite's leak check
 * fails the test if any token appears in what it printed.
 */
const WORKER = `
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const fd = process.env.CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR;
const hash = (t) => createHash('sha256').update(t).digest('hex');
const out = { fd: fd ?? null, viaEnv: process.env.CLAUDE_CODE_OAUTH_TOKEN === undefined ? null : hash(process.env.CLAUDE_CODE_OAUTH_TOKEN) };
if (fd !== undefined) {
  out.viaProc = hash(fs.readFileSync('/proc/self/fd/' + fd, 'utf8').trim());
  out.viaFd = hash(fs.readFileSync(Number(fd), 'utf8').trim());
}
out.env = process.env;
process.stdout.write(JSON.stringify(out));
`;

describe('kind oauth-token, end to end through the CLI', () => {
  const tempDir = useTempDir();

  function setup(payload: string) {
    const dir = tempDir();
    const store = join(dir, 'store');
    writeFileSync(store, payload);
    const config = join(dir, 'claude');
    return { dir, store, config, env: { CLAUDE_CONFIG_DIR: config, CLAUDE_CREDS_LOG_LEVEL: 'warn' } };
  }

  async function runWorker(s: ReturnType<typeof setup>, extra: string[] = [], env: Record<string, string> = {}) {
    const result = await runCli(['--provider', 'file', '--secret', s.store, ...extra, '--', process.execPath, '-e', WORKER], { env: { ...s.env, ...env } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as { fd: string | null; viaEnv: string | null; viaProc?: string; viaFd?: string; env: Record<string, string> };
  }

  test('the file-descriptor hand-off gives the child the token, and its environment holds no token', async () => {
    const token = fakeSetupToken();
    const s = setup(`${token}\n`);
    const seen = await runWorker(s, [], { CLAUDE_CODE_OAUTH_TOKEN: 'inherited-and-stale-must-not-reach-the-worker' });
    expect(seen.fd).toBe('3');
    expect(seen.viaProc).toBe(sha256(token));
    expect(seen.viaFd).toBe(sha256(token));
    expect(seen.viaEnv).toBeNull(); // an inherited CLAUDE_CODE_OAUTH_TOKEN would override the descriptor: removed
    expect(Object.values(seen.env).join('\n')).not.toContain(token.slice(-24)); // also covered by the leak check
    // Nothing claude-creds wrote holds the token, and no credentials file was written.
    expect(existsSync(join(s.config, '.credentials.json'))).toBe(false);
    for (const name of readdirSync(s.config)) expect(readFileSync(join(s.config, name), 'utf8')).not.toContain(token.slice(-24));
    // The descriptor's backing file was unlinked before the command started.
    expect(readdirSync('/dev/shm').filter((name) => name.startsWith('.claude-creds-token-'))).toEqual([]);
  });

  test('--token-via env sets CLAUDE_CODE_OAUTH_TOKEN instead, and no descriptor', async () => {
    const token = fakeSetupToken();
    const s = setup(JSON.stringify({ oauthToken: token }));
    const result = await runCli(['--provider', 'file', '--secret', s.store, '--token-via', 'env', '--', 'sh', '-c', 'test "${#CLAUDE_CODE_OAUTH_TOKEN}" -gt 20 && test -z "$CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR" && printf %s "$CLAUDE_CODE_OAUTH_TOKEN" | sha256sum'], { env: s.env });
    expect(result.code).toBe(0);
    expect(result.stdout.split(' ')[0]).toBe(sha256(token));
  });

  test('status reports the expiry from the JSON form, never the token; a bare token\'s expiry is unknown', async () => {
    const token = fakeSetupToken();
    const expiresAt = Date.now() + year;
    const s = setup(JSON.stringify({ oauthToken: token, expiresAt }));
    await runWorker(s);
    const json = await runCli(['status', '--json'], { env: s.env });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ kind: 'oauth-token', state: 'valid', present: true, expiresAt: new Date(expiresAt).toISOString() });
    expect(report.expiresInSeconds).toBeGreaterThan(year / 1000 - 120);

    writeFileSync(s.store, fakeSetupToken());
    await runWorker(s);
    const bare = await runCli(['status', '--kind', 'oauth-token'], { env: s.env });
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('expires: unknown');
  });

  test('status --warn-before says expiring when the token is near its end (exit 1)', async () => {
    const s = setup(JSON.stringify({ oauthToken: fakeSetupToken(), expiresAt: Date.now() + 3 * 24 * 3600_000 }));
    await runWorker(s);
    const result = await runCli(['status', '--kind', 'oauth-token', '--warn-before', '7d'], { env: s.env });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(': expiring');
  });

  test('an expired setup token is refused (exit 65) and the command is not started', async () => {
    const s = setup(JSON.stringify({ oauthToken: fakeSetupToken(), expiresAt: Date.now() - 3600_000 }));
    const result = await runCli(['--provider', 'file', '--secret', s.store, '--', 'sh', '-c', 'echo started'], { env: s.env });
    expect(result.code).toBe(65);
    expect(result.stdout).toBe('');
    expect(fatalMessage(result.stderr)).toMatch(/^the stored setup token expired .* run `claude setup-token` again/);
  });

  test('fetch --kind oauth-token writes no token anywhere and says how it is handed over; --seed-onboarding seeds .claude.json', async () => {
    const token = fakeSetupToken();
    const s = setup(token);
    const result = await runCli(['fetch', '--kind', 'oauth-token', '--provider', 'file', '--secret', s.store, '--log-level', 'warn'], { env: s.env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/not written anywhere; `claude-creds \[options\] -- COMMAND` hands it to the command through a file descriptor/);
    expect(result.stderr).toMatch(/add --seed-onboarding/);
    expect(existsSync(join(s.config, '.credentials.json'))).toBe(false);
    const seeded = await runCli(['fetch', '--provider', 'file', '--secret', s.store, '--seed-onboarding'], { env: s.env });
    expect(seeded.code).toBe(0);
    expect(JSON.parse(readFileSync(join(s.config, '.claude.json'), 'utf8'))).toEqual({ hasCompletedOnboarding: true });
    for (const name of readdirSync(s.config)) expect(readFileSync(join(s.config, name), 'utf8')).not.toContain(token.slice(-24));
  });

  test('--sync does not apply to a setup token (exit 64), and CLAUDE_CREDS_KIND is honoured', async () => {
    const s = setup(fakeSetupToken());
    const result = await runCli(['--sync', '--provider', 'file', '--secret', s.store, '--', 'true'], { env: { ...s.env, CLAUDE_CREDS_KIND: 'oauth-token' } });
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(/--sync keeps a \.credentials\.json login .* not apply to --kind oauth-token/);
  });
});
