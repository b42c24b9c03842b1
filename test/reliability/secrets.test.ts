import { spawn } from 'node:child_process';
import { watch, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../support/cli.js';
import { fakeToken, makeFakeCredentials, type FakeCredentials } from '../support/fake-credentials.js';
import { LEAK_WINDOW, assertNoLeaks, findLeaks } from '../support/leak-check.js';
import { bundleWriterChild, figure } from './support.js';

/** Every form in which a secret could travel: the tokens, the JSON, its base64. */
function secretForms(fake: FakeCredentials): string[] {
  return [...fake.tokens, fake.json, fake.base64];
}

function expectNoSecret(where: string, text: string, fake: FakeCredentials): void {
  expect(findLeaks(text, fake.tokens), where).toEqual([]);
  for (const form of secretForms(fake)) expect(text.includes(form), `${where} holds a secret`).toBe(false);
}

describe('secrets never leave through the environment, arguments, files or output', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claude-creds-secrets-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  test.each<[string, (fake: FakeCredentials) => { args: string[]; env: Record<string, string>; carrier: string }]>([
    ['CLAUDE_CREDENTIALS_B64', (fake) => ({ args: [], env: { CLAUDE_CREDENTIALS_B64: fake.base64 }, carrier: 'CLAUDE_CREDENTIALS_B64' })],
    ['CLAUDE_CREDENTIALS_JSON', (fake) => ({ args: [], env: { CLAUDE_CREDENTIALS_JSON: fake.json }, carrier: 'CLAUDE_CREDENTIALS_JSON' })],
    ['--secret TEAM_CLAUDE', (fake) => ({ args: ['--provider', 'env', '--secret', 'TEAM_CLAUDE'], env: { TEAM_CLAUDE: fake.base64 }, carrier: 'TEAM_CLAUDE' })],
    ['CLAUDE_CREDS_SECRET=TEAM_CLAUDE', (fake) => ({ args: ['--provider', 'env'], env: { CLAUDE_CREDS_SECRET: 'TEAM_CLAUDE', TEAM_CLAUDE: fake.json }, carrier: 'TEAM_CLAUDE' })],
  ])('the secret in %s: not in the command\'s environment, nor in its or claude-creds\' arguments', async (label, setup) => {
    const fake = makeFakeCredentials();
    const { args, env, carrier } = setup(fake);
    const dir = mkdtempSync(join(work, 'run-'));
    const report = join(dir, 'report');
    // The command reads its own environment and arguments, and its parent's (claude-creds, alive and
    // waiting for it) arguments, from /proc while it runs.
    const script = 'tr "\\0" "\\n" < /proc/$$/environ > "$0.env"; tr "\\0" " " < /proc/$$/cmdline > "$0.self"; tr "\\0" " " < /proc/$PPID/cmdline > "$0.parent"; echo $PPID > "$0.ppid"';
    let cliPid = -1;
    const result = await runCli(['run', ...args, '--out', join(dir, '.credentials.json'), '--', 'sh', '-c', script, report], {
      env: { ...env, KEEP_ME: 'still-here' },
      onSpawn: (child) => (cliPid = child.pid ?? -1),
    });
    expect(result.code, result.stderr).toBe(0);
    const childEnv = readFileSync(`${report}.env`, 'utf8');
    const names = childEnv.split('\n').map((line) => line.split('=')[0]);
    expect(names).toContain('KEEP_ME');
    for (const name of ['CLAUDE_CREDENTIALS_B64', 'CLAUDE_CREDENTIALS_JSON', carrier]) expect(names).not.toContain(name);
    expectNoSecret('the command\'s environment', childEnv, fake);
    expect(Number(readFileSync(`${report}.ppid`, 'utf8'))).toBe(cliPid);
    const parentArgs = readFileSync(`${report}.parent`, 'utf8');
    expect(parentArgs).toContain('entrypoint.ts run');
    expectNoSecret('claude-creds\' arguments', parentArgs, fake);
    expectNoSecret('the command\'s arguments', readFileSync(`${report}.self`, 'utf8'), fake);
    figure(`secrets: ${label}`, { env_vars_seen: names.length, carrier_stripped: true, secret_in_args: false });
  });

  test('temp files are 0600 from their creation on, even under umask 0 (watched while a writer runs)', async () => {
    const child = await bundleWriterChild(work);
    const dir = mkdtempSync(join(work, 'watch-'));
    const writes = 300;
    const seen: Array<{ mode: number; size: number }> = [];
    let missed = 0;
    // A 'rename' event is the temp file's creation (and its rename away); stat it at once, in this
    // process, while the writer runs in another.
    const watcher = watch(dir, (event, name) => {
      if (event !== 'rename' || name === null || !name.includes('.claude-creds-')) return;
      try {
        const stats = statSync(join(dir, name));
        seen.push({ mode: stats.mode & 0o777, size: stats.size });
      } catch {
        missed += 1; // already renamed
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const writer = spawn(process.execPath, [child, 'count', join(dir, '.credentials.json'), String(writes)], { stdio: ['ignore', 'pipe', 'inherit'] });
        writer.on('error', reject);
        writer.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${String(code)}`))));
      });
    } finally {
      watcher.close();
    }
    const modes = new Set(seen.map((observation) => observation.mode.toString(8)));
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect([...modes]).toEqual(['600']);
    expect(statSync(join(dir, '.credentials.json')).mode & 0o777).toBe(0o600);
    figure('secrets: temp file mode at creation (umask 0)', {
      writes,
      observations: seen.length,
      observed_empty: seen.filter((observation) => observation.size === 0).length,
      observed_with_bytes: seen.filter((observation) => observation.size > 0).length,
      gone_before_stat: missed,
      modes: [...modes].join(','),
    });
  }, 30_000);

  test.each([
    ['a valid file', (fake: FakeCredentials) => fake.json, 0],
    ['a file with no expiresAt', (fake: FakeCredentials) => fake.json.replace(/"expiresAt":\d+,/, ''), 3],
    ['a truncated file', (fake: FakeCredentials) => fake.json.slice(0, 60), 3],
    ['a file whose scopes lack user:inference', (fake: FakeCredentials) => fake.json.replace('"user:inference",', ''), 3],
  ])('status --json on %s prints no token', async (_label, content, exitCode) => {
    const fake = makeFakeCredentials();
    const out = join(mkdtempSync(join(work, 'status-')), '.credentials.json');
    writeFileSync(out, content(fake), { mode: 0o600 });
    const result = await runCli(['status', '--json', '--out', out]);
    expect(result.code, result.stderr).toBe(exitCode);
    expect(() => JSON.parse(result.stdout) as unknown).not.toThrow();
    expectNoSecret('status --json', result.stdout + result.stderr, fake);
  });
});

describe('the leak scanner every CLI test relies on can fail', () => {
  test('it finds a planted whole token and any 20-character run of one, not a shorter one', () => {
    const token = fakeToken('oat');
    const secretPart = token.slice(token.indexOf('-TEST-') + 6);
    const run = secretPart.slice(7, 7 + LEAK_WINDOW);
    expect(findLeaks(`log line ${token} end`, [token])).toEqual([`whole token ${token.slice(0, 12)}...`]);
    expect(findLeaks(`partial ${run} end`, [token])).toEqual([`a ${LEAK_WINDOW}-character run of ${token.slice(0, 12)}...`]);
    expect(findLeaks(`shorter ${run.slice(1)} end`, [token])).toEqual([]);
    expect(findLeaks('the shared prefix sk-ant-oat01-FAKE-TEST- alone', [token])).toEqual([]);
    expect(() => assertNoLeaks('a planted line', `x ${run} y`, [token])).toThrow(/token leak in a planted line/);
  });

  test.each([
    ['the whole token', 'printf "%s" "$PLANTED"'],
    [`a ${LEAK_WINDOW}-character run`, `printf "%s" "$PLANTED" | cut -c 31-${30 + LEAK_WINDOW}`],
  ])('runCli rejects a run whose output holds %s', async (_label, script) => {
    const planted = fakeToken('ort');
    const run = runCli(['run', '--out', join(tmpdir(), `claude-creds-leak-${process.pid}`, '.credentials.json'), '--', 'sh', '-c', script], {
      env: { CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64, PLANTED: planted },
    });
    await expect(run).rejects.toThrow(/token leak in stdout of claude-creds run/);
    rmSync(join(tmpdir(), `claude-creds-leak-${process.pid}`), { recursive: true, force: true });
  });
});
