import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fatalMessage, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

/** The line --dry-run printed, without the prefix. */
const dryRun = (stderr: string): string => /claude-creds: dry run: would (.*)/.exec(stderr)?.[1] ?? '';

describe('duration flags: bounded, "off" spelled out, printed one way', () => {
  const tempDir = useTempDir();
  const sidecar = (dir: string, ...flags: string[]) => ['sidecar', '--provider', 'file', '--secret', join(dir, 'store.json'), '--out', join(dir, 'c.json'), ...flags];

  test.each([
    ['--pull-interval 10ms (about 73 store reads a second before)', ['--pull-interval', '10ms'], /^--pull-interval 10ms is too short: at least 1s \(each pull is a billed read of the store/],
    ['--pull-interval 0 (silently off before)', ['--pull-interval', '0'], /^--pull-interval 0: write "off" to turn pulling off, or give at least 1s/],
    ['--pull-interval 30d (a timer overflow: a pull every millisecond)', ['--pull-interval', '30d'], /^--pull-interval 30d is too long: at most 1d/],
    ['--poll-interval 0', ['--poll-interval', '0'], /^--poll-interval 0: write "off" to turn the stat poll off/],
    ['--poll-interval 5ms', ['--poll-interval', '5ms'], /^--poll-interval 5ms is too short: at least 1s/],
    ['--flush-timeout 0', ['--flush-timeout', '0'], /^--flush-timeout 0: a duration of at least 1s is needed/],
    ['--timeout 0', ['--timeout', '0'], /^--timeout 0: a duration of at least 1s is needed/],
    ['--warn-before 1h,0', ['--warn-before', '1h,0'], /^--warn-before 0: a duration of at least 1s is needed/],
    // Stricter since issue 12: the jitter must leave the refresh 7m before expiry, outside the CLI's window.
    ['--refresh-jitter longer than --refresh-before', ['--refresh-before', '30m', '--refresh-jitter', '45m'], /^--refresh-jitter must leave --refresh-before minus the jitter at least 7m/],
    ['pulling off with proactive refresh', ['--refresh-before', '30m', '--pull-interval', 'off'], /^--pull-interval off cannot go with --refresh-before/],
  ])('%s: exit 64 with the bound and its reason', async (_name, flags, message) => {
    const result = await runCli([...sidecar(tempDir(), ...flags), '--dry-run']);
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(message);
  });

  test('a bound holds for the variable too', async () => {
    const result = await runCli([...sidecar(tempDir()), '--dry-run'], { env: { CLAUDE_CREDS_PULL_INTERVAL: '10ms' } });
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(/^--pull-interval 10ms is too short/);
  });

  test.each([
    ['the defaults', [], 'pull every 5m, poll every 10s, worker copy full'],
    ['pulling off', ['--pull-interval', 'off'], 'pull off, poll every 10s'],
    ['the poll off', ['--poll-interval', 'off', '--pull-interval', '90s'], 'pull every 1m30s, poll off'],
    ['a refresh', ['--refresh-before', '1h30m'], 'refresh 1h30m before expiry'],
  ])('--dry-run says it in the printed form: %s', async (_name, flags, expected) => {
    const result = await runCli([...sidecar(tempDir(), ...flags), '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(dryRun(result.stderr)).toContain(expected);
  });

  test('help shows defaults as they are typed (4m, not 4m0s), and durations in messages parse back', async () => {
    const help = await runCli(['api-key', '--help']);
    expect(help.stdout).toMatch(/--cache-ttl <duration>[\s\S]*?\[default 4m[;\]]/);
    expect(help.stdout).toMatch(/--recall-window <duration>[\s\S]*?\[default 30s\]/);
    expect(help.stdout).not.toMatch(/4m0s|4m 0s/);
    const dry = await runCli(['api-key', '--dry-run', '--cache-ttl', '270s']);
    expect(dryRun(dry.stderr)).toContain('older than 4m30s');
  });

  test('--recall-window off is accepted, 0 is refused naming off', async () => {
    const off = await runCli(['api-key', '--dry-run', '--recall-window', 'off']);
    expect(off.code, off.stderr).toBe(0);
    const zero = await runCli(['api-key', '--dry-run', '--recall-window', '0']);
    expect(zero.code).toBe(64);
    expect(fatalMessage(zero.stderr)).toMatch(/write "off"/);
  });

  test('status prints the time left in the same form', async () => {
    const file = join(tempDir(), '.credentials.json');
    writeFileSync(file, makeFakeCredentials({ expiresAt: Date.now() + 2 * 3600_000 - 30_000 }).json);
    const result = await runCli(['status', '--out', file]);
    expect(result.stdout).toMatch(/\(in 1h59m\d+s\)/);
  });
});
