import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { fatalLines, fatalMessage, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

/**
 * `run` is the default command: before, any first word that was not a command became the worker.
 * `claude-creds fecth` fetched the credentials and then ran `fecth` (127); `claude-creds echo hi` ran echo.
 */
describe('a mistyped or unknown command never runs anything', () => {
  const tempDir = useTempDir();

  test.each([
    ['fecth', ['fecth'], /^unknown command 'fecth' \(did you mean fetch\?\); to run a program, put it after --: claude-creds \[options\] -- fecth/],
    ['stauts', ['stauts'], /^unknown command 'stauts' \(did you mean status\?\)/],
    ['sidcar', ['sidcar', '--provider', 'env'], /^unknown command 'sidcar' \(did you mean sidecar\?\)/],
    ['echo hi', ['echo', 'hi'], /^unknown command 'echo'; to run a program, put it after --: claude-creds \[options\] -- echo \.\.\. \(or claude-creds run echo \.\.\.\)/],
    ['a program after options, without --', ['--provider', 'env', 'touch', 'MARKER'], /^unknown command 'touch'; to run a program, put it after --/],
    ['a command name after options', ['--provider', 'env', 'fetch'], /^the command 'fetch' goes first, before its options: claude-creds fetch \[options\]/],
    ['help with an unknown topic', ['help', 'bogus'], /^unknown command 'bogus'; see claude-creds --help/],
    ['help with a typo', ['help', 'fecth'], /^unknown command 'fecth' \(did you mean fetch\?\)/],
  ])('%s: exit 64, one line naming the fix, nothing fetched or started', async (_name, args, message) => {
    const home = tempDir();
    const marker = join(home, 'started');
    const result = await runCli(
      args.map((arg) => (arg === 'MARKER' ? marker : arg)),
      { env: { HOME: home, CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 } },
    );
    expect(result.code).toBe(64);
    expect(fatalLines(result.stderr)).toHaveLength(1);
    expect(fatalMessage(result.stderr)).toMatch(message);
    // Nothing was fetched (no ~/.claude), nothing ran (no marker from `touch`), no other log line.
    expect(existsSync(join(home, '.claude'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(home)).toEqual([]);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  test.each([
    ['claude-creds -- CMD', ['--', 'sh', '-c', 'exit 7']],
    ['claude-creds [options] -- CMD', ['--provider', 'env', '--log-level', 'warn', '--', 'sh', '-c', 'exit 7']],
    ['short options with their values', ['-p', 'env', '-s', 'CLAUDE_CREDENTIALS_B64', '--', 'sh', '-c', 'exit 7']],
    ['an option written with =', ['--provider=env', '--', 'sh', '-c', 'exit 7']],
    ['a value that looks like a command name', ['--log-level', 'warn', '--secret', 'CLAUDE_CREDENTIALS_B64', '--', 'sh', '-c', 'exit 7']],
    ['claude-creds run CMD (no --)', ['run', 'sh', '-c', 'exit 7']],
    ['claude-creds run [options] -- CMD', ['run', '--provider', 'env', '--', 'sh', '-c', 'exit 7']],
  ])('%s still runs the command', async (_name, args) => {
    const result = await runCli(args, { env: { HOME: tempDir(), CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 } });
    expect(result.code, result.stderr).toBe(7);
  });

  test('an unknown option is still named as such by commander, in one line', async () => {
    const result = await runCli(['--no-such-flag', '--', 'true'], { env: { HOME: tempDir() } });
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(/^unknown option '--no-such-flag'; see claude-creds run --help/);
  });

  test.each([
    ['help fetch', ['help', 'fetch'], /Usage: claude-creds fetch/],
    ['help', ['help'], /Usage: claude-creds \[options\] \[command\]/],
  ])('%s still prints help (exit 0)', async (_name, args, usage) => {
    const result = await runCli(args, { env: { HOME: tempDir() } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(usage);
  });

  test.each([['fetch', '--version'], ['fetch', '-V'], ['status', '--version'], ['sidecar', '-V'], ['run', '--version'], ['--version']])(
    '%s %s prints the version, not "did you mean --region?"',
    async (...args) => {
      const result = await runCli(args, { env: { HOME: tempDir() } });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(packageJson.version);
      expect(result.stderr).toBe('');
    },
  );
});
