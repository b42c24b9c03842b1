import { readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fatalLines, fatalMessage, logLines, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

const isRoot = process.getuid?.() === 0;

describe('claude-creds fetch', () => {
  const tempDir = useTempDir();

  test('writes base64 credentials from CLAUDE_CREDENTIALS_B64 byte-identical, 0600 in a 0700 directory under $HOME/.claude', async () => {
    const home = tempDir();
    const fake = makeFakeCredentials();
    const result = await runCli(['fetch'], { env: { HOME: home, CLAUDE_CREDENTIALS_B64: fake.base64 } });
    expect(result.code).toBe(0);
    const file = join(home, '.claude', '.credentials.json');
    expect(readFileSync(file, 'utf8')).toBe(fake.json);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.claude')).mode & 0o777).toBe(0o700);
    const chosen = logLines(result.stderr).find((line) => line.msg === 'using the env provider');
    expect(chosen?.reason).toBe('CLAUDE_CREDENTIALS_B64 is set');
  });

  test('writes raw JSON from CLAUDE_CREDENTIALS_JSON into $CLAUDE_CONFIG_DIR', async () => {
    const dir = tempDir();
    const fake = makeFakeCredentials();
    const result = await runCli(['fetch'], { env: { CLAUDE_CONFIG_DIR: join(dir, 'cfg'), CLAUDE_CREDENTIALS_JSON: fake.json } });
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'cfg', '.credentials.json'), 'utf8')).toBe(fake.json);
  });

  test('reads the variable that --secret names and honours --out', async () => {
    const dir = tempDir();
    const fake = makeFakeCredentials();
    const out = join(dir, 'x', 'creds.json');
    const result = await runCli(['fetch', '--provider', 'env', '--secret', 'TEAM_CLAUDE', '--out', out], { env: { TEAM_CLAUDE: fake.base64 } });
    expect(result.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(fake.json);
  });

  test('takes every flag from its CLAUDE_CREDS_* variable too', async () => {
    const dir = tempDir();
    const fake = makeFakeCredentials();
    const store = join(dir, 'store.json');
    writeFileSync(store, fake.json);
    const out = join(dir, 'out.json');
    const result = await runCli(['fetch'], {
      env: { CLAUDE_CREDS_PROVIDER: 'file', CLAUDE_CREDS_SECRET: store, CLAUDE_CREDS_OUT: out, CLAUDE_CREDS_LOG_LEVEL: 'warn' },
    });
    expect(result.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(fake.json);
    expect(result.stderr).toBe('');
  });

  test.runIf(isRoot)('gives the file and its directory to --owner', async () => {
    const dir = tempDir();
    const out = join(dir, 'worker', '.credentials.json');
    const result = await runCli(['fetch', '--owner', '1000:1001', '--out', out], { env: { CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 } });
    expect(result.code).toBe(0);
    expect(statSync(out)).toMatchObject({ uid: 1000, gid: 1001 });
    expect(statSync(join(dir, 'worker'))).toMatchObject({ uid: 1000, gid: 1001 });
  });

  test('refuses to write through a symlink at --out, exit 73, and leaves its target alone', async () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'do not touch');
    const out = join(dir, '.credentials.json');
    symlinkSync(victim, out);
    const result = await runCli(['fetch', '--out', out], { env: { CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 } });
    expect(result.code).toBe(73);
    expect(fatalMessage(result.stderr)).toMatch(/is a symbolic link; refusing/);
    expect(readFileSync(victim, 'utf8')).toBe('do not touch');
    expect(readlinkSync(out)).toBe(victim);
  });

  test.each([
    ['an empty payload', '', /payload is empty \(0 bytes of JSON\)/],
    ['invalid JSON', '{"claudeAiOauth":', /not valid JSON/],
    ['a payload without claudeAiOauth', '{"other":true}', /no "claudeAiOauth" object/],
    ['a blanked file', '{"claudeAiOauth":{"accessToken":"","refreshToken":"","expiresAt":0}}', /blanked/],
  ])('with %s exits 65 with one clear line and leaves the existing good file intact', async (_name, payload, message) => {
    const dir = tempDir();
    const good = makeFakeCredentials();
    const out = join(dir, '.credentials.json');
    writeFileSync(out, good.json, { mode: 0o600 });
    const result = await runCli(['fetch', '--out', out], { env: { CLAUDE_CREDENTIALS_JSON: payload } });
    expect(result.code).toBe(65);
    const errorLines = fatalLines(result.stderr);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatchObject({ exitCode: 65, errorType: 'InvalidCredentialsError' });
    expect(errorLines[0]?.msg).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readFileSync(out, 'utf8')).toBe(good.json);
  });

  test('writes an expired token with a warning: the CLI can still refresh it', async () => {
    const dir = tempDir();
    const fake = makeFakeCredentials({ expiresAt: Date.now() - 3600_000 });
    const out = join(dir, 'c.json');
    const result = await runCli(['fetch', '--out', out], { env: { CLAUDE_CREDENTIALS_JSON: fake.json } });
    expect(result.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(fake.json);
    expect(logLines(result.stderr).some((line) => line.level === 40 && String(line.msg).includes('expired'))).toBe(true);
  });

  test('keeps a local file that is newer than the store, and replaces it with --force', async () => {
    const dir = tempDir();
    const newer = makeFakeCredentials({ expiresAt: Date.now() + 8 * 3600_000 });
    const older = makeFakeCredentials({ expiresAt: Date.now() + 3600_000 });
    const out = join(dir, 'c.json');
    writeFileSync(out, newer.json, { mode: 0o600 });
    const kept = await runCli(['fetch', '--out', out], { env: { CLAUDE_CREDENTIALS_JSON: older.json } });
    expect(kept.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(newer.json);
    const forced = await runCli(['fetch', '--out', out, '--force'], { env: { CLAUDE_CREDENTIALS_JSON: older.json } });
    expect(forced.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(older.json);
  });

  test('with no provider and nothing to infer one from, exits 78 listing the options', async () => {
    const result = await runCli(['fetch', '--out', join(tempDir(), 'c.json')]);
    expect(result.code).toBe(78);
    expect(fatalMessage(result.stderr)).toMatch(/no credentials provider chosen: pass --provider \(env, file, aws, gcp, azure, vault, kubernetes\)/);
  });

  test.each([
    [['fetch', '--provider', 'nope'], /argument 'nope' is invalid/],
    [['fetch', '--timeout', 'soon'], /--timeout takes a duration/],
    [['fetch', '--owner', 'root'], /--owner takes numeric UID:GID/],
    [['fetch', '--no-such-flag'], /unknown option '--no-such-flag'/],
  ])('bad flags %j exit 64 with a usage message', async (args, message) => {
    const result = await runCli(args, { env: { CLAUDE_CREDENTIALS_JSON: makeFakeCredentials().json, HOME: tempDir() } });
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(message);
  });

  test('a missing file store is exit 66 naming the path and the push command', async () => {
    const dir = tempDir();
    const result = await runCli(['fetch', '--provider', 'file', '--secret', join(dir, 'absent.json'), '--out', join(dir, 'c.json')]);
    expect(result.code).toBe(66);
    expect(fatalMessage(result.stderr)).toMatch(/absent\.json does not exist; run `claude-creds push --provider file/);
  });
});
