import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ENTRYPOINT, GUARD, cliEnv, fatalLines, runCli } from '../support/cli.js';
import { useTempDir } from '../support/temp-dir.js';

/** The JSON lines on stderr, each parsed; a line that is not JSON fails the test (a pipeline would choke on it). */
function jsonLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      expect(line, 'every stderr line is JSON with JSON logs').toMatch(/^\{/);
      return JSON.parse(line) as Record<string, unknown>;
    });
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTerminal(args: readonly string[], env: Record<string, string | undefined>): { code: number | null; output: string } {
  const quoted = ['node', '--import', 'tsx', '--import', GUARD, ENTRYPOINT, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('script', ['-qec', quoted, '/dev/null'], { env: cliEnv(env), encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, output: result.stdout };
}

describe('the fatal error follows the log format', () => {
  const tempDir = useTempDir();

  test.each([
    ['a typed error (no provider), --log-format json', ['fetch', '--log-format', 'json'], {}, 78, 'ConfigError', /^no credentials provider chosen/],
    ['the same through CLAUDE_CREDS_LOG_FORMAT=json', ['fetch'], { CLAUDE_CREDS_LOG_FORMAT: 'json' }, 78, 'ConfigError', /^no credentials provider chosen/],
    ['the default when stderr is not a terminal', ['fetch'], { CLAUDE_CREDS_LOG_FORMAT: undefined }, 78, 'ConfigError', /^no credentials provider chosen/],
    ['commander\'s unknown option, before any logger exists', ['fetch', '--no-such-flag'], {}, 64, 'UsageError', /^unknown option '--no-such-flag'; see claude-creds fetch --help/],
    ['commander\'s missing value', ['fetch', '--provider'], {}, 64, 'UsageError', /^option '-p, --provider <name>' argument missing; see claude-creds fetch --help/],
    ['commander\'s invalid choice', ['fetch', '--log-format', 'json', '--provider', 'nope'], {}, 64, 'UsageError', /argument 'nope' is invalid/],
    ['an unknown command', ['fecth'], {}, 64, 'UsageError', /^unknown command 'fecth'/],
    ['a bad value found by a command', ['sidecar', '--secret', '/x', '--pull-interval', '10ms'], {}, 64, 'UsageError', /^--pull-interval 10ms is too short/],
  ])('%s: one pino-shaped JSON line with msg, exitCode and errorType', async (_name, args, env, exitCode, errorType, message) => {
    const result = await runCli(args, { env: { HOME: tempDir(), ...env } });
    expect(result.code).toBe(exitCode);
    const lines = jsonLines(result.stderr);
    const fatal = lines.filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ level: 60, name: 'claude-creds', pid: expect.any(Number), hostname: expect.any(String), time: expect.any(Number), exitCode, errorType });
    expect(String(fatal[0]?.msg)).toMatch(message);
    expect(Math.abs(Number(fatal[0]?.time) - Date.now())).toBeLessThan(60_000);
    expect(result.stderr).not.toMatch(/^claude-creds: /m);
    expect(result.stderr).not.toMatch(/^error: /m);
  });

  test('--log-format pretty keeps the plain line, also for commander\'s errors', async () => {
    const typed = await runCli(['fetch', '--log-format', 'pretty'], { env: { HOME: tempDir() } });
    expect(typed.code).toBe(78);
    expect(typed.stderr).toMatch(/^claude-creds: no credentials provider chosen/m);
    const usage = await runCli(['fetch', '--log-format', 'pretty', '--no-such-flag'], { env: { HOME: tempDir() } });
    expect(usage.code).toBe(64);
    expect(usage.stderr.trim()).toBe("claude-creds: unknown option '--no-such-flag'; see claude-creds fetch --help");
  });

  test('on a terminal the default is the plain line, one line, no JSON', () => {
    const result = onTerminal(['fetch', '--no-such-flag'], { HOME: tempDir(), CLAUDE_CREDS_LOG_FORMAT: undefined });
    expect(result.code).toBe(64);
    expect(result.output.trim()).toBe("claude-creds: unknown option '--no-such-flag'; see claude-creds fetch --help");
  });

  test('words after -- are the worker\'s: its --log-format does not change ours', async () => {
    const home = tempDir();
    const result = await runCli(['--', join(home, 'missing-program'), '--log-format', 'pretty'], { env: { HOME: home, CLAUDE_CREDENTIALS_B64: 'e30=' } });
    expect(result.code).toBe(65);
    expect(fatalLines(result.stderr)).toEqual([expect.objectContaining({ format: 'json', exitCode: 65 })]);
  });

  test('control characters in a message are escaped in both forms', async () => {
    const dir = tempDir();
    const store = `${dir}/bad\u001b[31mname.json`;
    for (const format of ['json', 'pretty']) {
      const result = await runCli(['fetch', '--log-format', format, '--provider', 'file', '--secret', store, '--out', join(dir, 'c.json')]);
      expect(result.code).toBe(66);
      expect(fatalLines(result.stderr)[0]?.msg).toContain('bad\\u001b[31mname.json does not exist');
      expect(result.stderr).not.toContain('\u001b');
    }
  });
});
