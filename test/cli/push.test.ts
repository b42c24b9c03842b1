import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fatalMessage, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { loginOf } from '../support/sync-harness.js';
import { useTempDir } from '../support/temp-dir.js';

describe('claude-creds push and the file store', () => {
  const tempDir = useTempDir();

  test('push, then fetch on another "machine", round-trips the file byte for byte (the store adds only its generation)', async () => {
    const dir = tempDir();
    const fake = makeFakeCredentials();
    const login = join(dir, 'laptop', '.credentials.json');
    mkdirSync(join(dir, 'laptop'));
    writeFileSync(login, fake.json);
    const store = join(dir, 'nfs', 'claude', 'credentials.json');
    const pushed = await runCli(['push', '--provider', 'file', '--secret', store, '--from', login]);
    expect(pushed.code).toBe(0);
    const stored = JSON.parse(readFileSync(store, 'utf8')) as Record<string, unknown>;
    expect(loginOf(readFileSync(store, 'utf8'))).toEqual(loginOf(fake.json));
    expect(stored.claudeCredsSync).toMatchObject({ generation: 1, writer: 'push' });
    expect(statSync(store).mode & 0o777).toBe(0o600);

    const worker = join(dir, 'worker', '.claude', '.credentials.json');
    const fetched = await runCli(['fetch', '--secret', store, '--out', worker]);
    expect(fetched.code).toBe(0);
    expect(readFileSync(worker, 'utf8')).toBe(fake.json);
  });

  test('push reads ~/.claude/.credentials.json by default and says when the store already has it', async () => {
    const home = tempDir();
    const fake = makeFakeCredentials();
    const store = join(home, 'store.json');
    const first = await runCli(['fetch', '--out', join(home, '.claude', '.credentials.json')], { env: { CLAUDE_CREDENTIALS_JSON: fake.json } });
    expect(first.code).toBe(0);
    expect((await runCli(['push', '--secret', store], { env: { HOME: home } })).code).toBe(0);
    const again = await runCli(['push', '--secret', store], { env: { HOME: home } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('the store already holds these credentials');
  });

  test('push refuses to replace newer credentials in the store (exit 75) unless --force', async () => {
    const dir = tempDir();
    const newer = makeFakeCredentials({ expiresAt: Date.now() + 8 * 3600_000 });
    const older = makeFakeCredentials({ expiresAt: Date.now() + 3600_000 });
    const store = join(dir, 'store.json');
    const from = join(dir, 'older.json');
    writeFileSync(store, newer.json);
    writeFileSync(from, older.json);
    const refused = await runCli(['push', '--secret', store, '--from', from]);
    expect(refused.code).toBe(75);
    expect(fatalMessage(refused.stderr)).toMatch(/holds newer credentials .* not replacing them \(use --force/);
    expect(readFileSync(store, 'utf8')).toBe(newer.json);
    const forced = await runCli(['push', '--secret', store, '--from', from, '--force']);
    expect(forced.code).toBe(0);
    expect(loginOf(readFileSync(store, 'utf8'))).toEqual(loginOf(older.json));
  });

  test.each([
    ['a newer login (signed in later) wins although its token expires sooner', 30, 1, 20, 8, 0],
    ['an older login never replaces the store\'s, however late its token expires', 10, 8, 20, 1, 75],
  ])('%s', async (_name, localEndDays, localHours, storeEndDays, storeHours, code) => {
    const dir = tempDir();
    const day = 86_400_000;
    const stored = makeFakeCredentials({ expiresAt: Date.now() + storeHours * 3600_000, extraOAuth: { refreshTokenExpiresAt: Date.now() + storeEndDays * day } });
    const local = makeFakeCredentials({ expiresAt: Date.now() + localHours * 3600_000, extraOAuth: { refreshTokenExpiresAt: Date.now() + localEndDays * day } });
    const store = join(dir, 'store.json');
    const from = join(dir, 'login.json');
    writeFileSync(store, stored.json);
    writeFileSync(from, local.json);
    const result = await runCli(['push', '--secret', store, '--from', from]);
    expect(result.code, result.stderr).toBe(code);
    expect(loginOf(readFileSync(store, 'utf8'))).toEqual(loginOf(code === 0 ? local.json : stored.json));
    if (code !== 0) expect(fatalMessage(result.stderr)).toMatch(/holds a newer login \(one signed in later/);
  });

  test('a login written by a clock 24 h ahead is refused, naming the clock', async () => {
    const dir = tempDir();
    const stored = makeFakeCredentials({ expiresAt: Date.now() + 3600_000 });
    const skewed = makeFakeCredentials({ expiresAt: Date.now() + 32 * 3600_000 });
    const store = join(dir, 'store.json');
    const from = join(dir, 'skewed.json');
    writeFileSync(store, stored.json);
    writeFileSync(from, skewed.json);
    const result = await runCli(['push', '--secret', store, '--from', from]);
    expect(result.code).toBe(75);
    expect(fatalMessage(result.stderr)).toMatch(/more than 9h ahead of this machine's clock/);
  });

  test.each([
    ['garbage', 'oops', []],
    ['a blanked login', '{"claudeAiOauth":{"accessToken":"","refreshToken":"","expiresAt":0}}', []],
    ['garbage, with --force', 'oops', ['--force']],
  ])('an invalid store document (%s) is replaced by push', async (_name, bad, flags) => {
    const dir = tempDir();
    const good = makeFakeCredentials();
    const store = join(dir, 'store.json');
    const from = join(dir, 'good.json');
    writeFileSync(store, bad);
    writeFileSync(from, good.json);
    const result = await runCli(['push', '--secret', store, '--from', from, ...flags]);
    expect(result.code, result.stderr).toBe(0);
    expect(loginOf(readFileSync(store, 'utf8'))).toEqual(loginOf(good.json));
  });

  test.each([
    ['an empty file', ''],
    ['a blanked file', '{"claudeAiOauth":{"accessToken":"","refreshToken":"","expiresAt":0}}'],
  ])('push refuses %s (exit 65) and leaves the store as it was', async (_name, content) => {
    const dir = tempDir();
    const good = makeFakeCredentials();
    const store = join(dir, 'store.json');
    const from = join(dir, 'bad.json');
    writeFileSync(store, good.json);
    writeFileSync(from, content);
    const result = await runCli(['push', '--secret', store, '--from', from]);
    expect(result.code).toBe(65);
    expect(readFileSync(store, 'utf8')).toBe(good.json);
  });

  test('push to the env provider says clearly that env cannot be written', async () => {
    const dir = tempDir();
    const from = join(dir, 'c.json');
    writeFileSync(from, makeFakeCredentials().json);
    const result = await runCli(['push', '--provider', 'env', '--from', from], { env: { CLAUDE_CREDENTIALS_B64: 'x' } });
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(/^the env provider is read-only.*use --provider file, aws, gcp or azure/);
  });
});
