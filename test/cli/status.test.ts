import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../support/cli.js';
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
});
