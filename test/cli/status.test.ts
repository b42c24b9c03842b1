import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fatalLines, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

describe('claude-creds status', () => {
  const tempDir = useTempDir();
  const hour = 3600_000;

  test.each([
    ['valid', 0, () => makeFakeCredentials({ expiresAt: Date.now() + 8 * hour }).json],
    ['expiring', 1, () => makeFakeCredentials({ expiresAt: Date.now() + 10 * 60_000 }).json],
    ['expired', 2, () => makeFakeCredentials({ expiresAt: Date.now() - hour }).json],
    ['invalid', 3, () => '{"claudeAiOauth":{"accessToken":"","refreshToken":"","expiresAt":0}}'],
    ['invalid', 3, () => ''],
    ['missing', 4, undefined],
  ])('reports %s with exit code %i', async (state, code, content) => {
    const file = join(tempDir(), '.credentials.json');
    if (content) writeFileSync(file, content());
    const json = await runCli(['status', '--json', '--out', file, '--warn-before', '30m']);
    expect(json.code).toBe(code);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report.state).toBe(state);
    expect(report.path).toBe(file);
    const text = await runCli(['status', '--out', file, '--warn-before', '30m']);
    expect(text.code).toBe(code);
    expect(text.stdout).toContain(`${file}: ${state}`);
  });

  test('reports subscription, scopes and time left, and never a token value', async () => {
    const dir = tempDir();
    const fake = makeFakeCredentials({ expiresAt: Date.now() + 2 * hour, subscriptionType: 'team' });
    writeFileSync(join(dir, '.credentials.json'), fake.json);
    const result = await runCli(['status', '--json'], { env: { CLAUDE_CONFIG_DIR: dir } });
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ present: true, valid: true, subscriptionType: 'team', hasRefreshToken: true });
    expect(report.scopes).toContain('user:inference');
    expect(report.expiresInSeconds).toBeGreaterThan(7100);
    expect(report.expiresInSeconds).toBeLessThanOrEqual(7200);
    for (const token of fake.tokens) expect(result.stdout).not.toContain(token);
  });

  test.each([
    ['the sidecar\'s list (it broke status: exit 64)', ['--warn-before', '1h,10m'], {}, 1, 'expiring'],
    ['the same list from CLAUDE_CREDS_WARN_BEFORE, as the image sets it for the sidecar', [], { CLAUDE_CREDS_WARN_BEFORE: '1h,10m' }, 1, 'expiring'],
    ['a list whose largest is below the time left', ['--warn-before', '20m,10m'], {}, 0, 'valid'],
    ['one duration, as before', ['--warn-before', '45m'], {}, 1, 'expiring'],
    ['the default, 5m', [], {}, 0, 'valid'],
  ])('--warn-before: %s', async (_name, flags, env, code, state) => {
    const file = join(tempDir(), '.credentials.json');
    writeFileSync(file, makeFakeCredentials({ expiresAt: Date.now() + 30 * 60_000 }).json);
    const result = await runCli(['status', '--json', '--out', file, ...flags], { env });
    expect(result.code, result.stderr).toBe(code);
    expect((JSON.parse(result.stdout) as { state: string }).state).toBe(state);
  });

  test('a directory where the file should be is "invalid" (exit 3, one of the documented 0-4), saying so', async () => {
    const dir = join(tempDir(), '.credentials.json');
    mkdirSync(dir);
    const text = await runCli(['status', '--out', dir]);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain(`${dir}: invalid`);
    expect(text.stdout).toContain(`problem: ${dir} is a directory, not a credentials file`);
    expect(fatalLines(text.stderr)).toEqual([]);
    const json = await runCli(['status', '--json', '--out', dir]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: 'invalid', present: true, valid: false });
  });

  test.each([
    ['ends in 20 days: valid, the end shown', 20, 0, 'valid', false, [] as string[]],
    ['ends in 2 days: expiring (exit 1) while the token is fresh, with the advice', 2, 1, 'expiring', true, [] as string[]],
    ['ends in 2 days with --login-warn-before 1d: valid', 2, 0, 'valid', false, ['--login-warn-before', '1d']],
  ])('the login\'s end: %s', async (_name, days, code, state, expiring, extra) => {
    const dir = tempDir();
    const end = Date.now() + days * 24 * hour;
    writeFileSync(join(dir, '.credentials.json'), makeFakeCredentials({ expiresAt: Date.now() + 8 * hour, extraOAuth: { refreshTokenExpiresAt: end } }).json);
    const json = await runCli(['status', '--json', ...extra], { env: { CLAUDE_CONFIG_DIR: dir } });
    expect(json.code).toBe(code);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ state, loginEndsAt: new Date(end).toISOString(), loginExpiring: expiring });
    const text = await runCli(['status', ...extra], { env: { CLAUDE_CONFIG_DIR: dir } });
    expect(text.code).toBe(code);
    expect(text.stdout).toContain(`login ends: ${new Date(end).toISOString()}`);
    expect(text.stdout.includes('run `claude login` and `claude-creds push`')).toBe(expiring);
  });

  test('a file that does not say when its login ends says so', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.credentials.json'), makeFakeCredentials({ expiresAt: Date.now() + 8 * hour }).json);
    const text = await runCli(['status'], { env: { CLAUDE_CONFIG_DIR: dir } });
    expect(text.stdout).toMatch(/login ends: unknown/);
  });
});
