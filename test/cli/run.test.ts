import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ENTRYPOINT, GUARD, cliEnv, fatalLines, fatalMessage, logLines, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

describe('claude-creds -- command (the run wrapper)', () => {
  const tempDir = useTempDir();
  const envFor = (home: string) => ({ HOME: home, CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64, CLAUDE_CREDS_LOG_LEVEL: 'warn' });

  test.each([
    ['exit 0', 0, ['sh', '-c', 'exit 0']],
    ['exit 3', 3, ['sh', '-c', 'exit 3']],
    ['killed by SIGKILL', 137, ['sh', '-c', 'kill -KILL $$']],
    ['killed by SIGTERM', 143, ['sh', '-c', 'kill -TERM $$']],
  ])('exits with the child\'s status: %s -> %i', async (_name, expected, command) => {
    const result = await runCli(['--', ...command], { env: envFor(tempDir()) });
    expect(result.code).toBe(expected);
  });

  test('the explicit `run` subcommand behaves the same', async () => {
    const result = await runCli(['run', '--', 'sh', '-c', 'exit 7'], { env: envFor(tempDir()) });
    expect(result.code).toBe(7);
  });

  test('the credentials file is in place, 0600, before the command starts', async () => {
    const home = tempDir();
    const result = await runCli(['--', 'sh', '-c', 'stat -c %a "$HOME/.claude/.credentials.json"'], { env: envFor(home) });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('600');
  });

  test('stdin and stdout pass through to the command', async () => {
    const result = await runCli(['--', 'sh', '-c', 'tr a-z A-Z'], { env: envFor(tempDir()), input: 'hello worker\n' });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('HELLO WORKER\n');
  });

  test('the variables that carried the secret are not in the command\'s environment', async () => {
    const home = tempDir();
    const fake = makeFakeCredentials();
    const result = await runCli(['--provider', 'env', '--secret', 'TEAM_CLAUDE', '--', 'sh', '-c', 'env'], {
      env: { HOME: home, TEAM_CLAUDE: fake.base64, CLAUDE_CREDENTIALS_B64: fake.base64, CLAUDE_CREDENTIALS_JSON: fake.json, KEEP_ME: 'yes' },
    });
    expect(result.code).toBe(0);
    const names = result.stdout.split('\n').map((line) => line.split('=')[0]);
    expect(names).toContain('KEEP_ME');
    expect(names).not.toContain('TEAM_CLAUDE');
    expect(names).not.toContain('CLAUDE_CREDENTIALS_B64');
    expect(names).not.toContain('CLAUDE_CREDENTIALS_JSON');
    expect(result.stdout).not.toContain(fake.base64.slice(0, 40));
  });

  test.each(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const)(
    'forwards %s to a command that traps it, and exits with the status the command chose',
    async (signal) => {
      const dir = tempDir();
      const marker = join(dir, 'got-signal');
      const name = signal.slice(3);
      // The child traps the signal, records it and exits 42; it announces on stdout when the trap is set.
      const script = `trap 'echo ${name} > "${marker}"; exit 42' ${name}; echo ready; while true; do sleep 0.05; done`;
      const result = await runCli(['--', 'sh', '-c', script], {
        env: envFor(dir),
        onSpawn: (child) => {
          child.stdout?.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('ready')) child.kill(signal);
          });
        },
      });
      expect(result.code).toBe(42);
      expect(readFileSync(marker, 'utf8').trim()).toBe(name);
    },
  );

  test('a command that does not exist is exit 127 with one clear line', async () => {
    const result = await runCli(['--', 'no-such-command-xyz'], { env: envFor(tempDir()) });
    expect(result.code).toBe(127);
    expect(fatalLines(result.stderr)).toEqual([expect.objectContaining({ msg: 'command not found: no-such-command-xyz', exitCode: 127 })]);
  });

  test('no command after -- is a usage error', async () => {
    const result = await runCli(['run'], { env: envFor(tempDir()) });
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(/^no command to run/);
  });

  test('when the credentials cannot be fetched the command never starts', async () => {
    const dir = tempDir();
    const marker = join(dir, 'started');
    const result = await runCli(['--', 'sh', '-c', `touch "${marker}"`], { env: { HOME: dir, CLAUDE_CREDENTIALS_JSON: '{' } });
    expect(result.code).toBe(65);
    expect(() => readFileSync(marker)).toThrow();
  });

  describe('quiet on success, as doppler run and op run are', () => {
    const login = (expiresAt = Date.now() + 8 * 3600_000) => ({ CLAUDE_CREDENTIALS_B64: makeFakeCredentials({ expiresAt }).base64 });

    test('at most one line on stderr around the worker\'s output (it was 5 JSON lines, 14 on a terminal)', async () => {
      const home = tempDir();
      const result = await runCli(['--', 'sh', '-c', 'echo from-the-worker'], { env: { HOME: home, ...login() } });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe('from-the-worker\n');
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      expect(lines.length).toBeLessThanOrEqual(1);
      expect(logLines(result.stderr).map((line) => line.msg)).toEqual([`credentials from the env provider in ${join(home, '.claude', '.credentials.json')}; starting sh`]);
    });

    test('on a terminal too: one line of ours, then the worker\'s output', () => {
      const home = tempDir();
      const command = ['node', '--import', 'tsx', '--import', GUARD, ENTRYPOINT, '--', 'sh', '-c', 'echo from-the-worker'].map((word) => `'${word}'`).join(' ');
      const result = spawnSync('script', ['-qec', command, '/dev/null'], { env: cliEnv({ HOME: home, CLAUDE_CREDS_LOG_FORMAT: undefined, ...login() }), encoding: 'utf8', timeout: 20_000 });
      expect(result.status, result.stdout).toBe(0);
      const lines = result.stdout.split(/\r?\n/).filter((line) => line !== '');
      expect(lines.at(-1)).toBe('from-the-worker');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/INFO.*credentials from the env provider in .*; starting sh/);
    });

    test('run --sync is as quiet', async () => {
      const dir = tempDir();
      const store = join(dir, 'store.json');
      writeFileSync(store, makeFakeCredentials().json);
      const result = await runCli(['run', '--sync', '--secret', store, '--', 'true'], { env: { CLAUDE_CONFIG_DIR: join(dir, 'cfg') } });
      expect(result.code, result.stderr).toBe(0);
      expect(logLines(result.stderr).map((line) => line.msg)).toEqual([`credentials in ${join(dir, 'cfg', '.credentials.json')}, kept in step with the file provider; starting true`]);
    });

    test.each([
      ['--log-level info', ['--log-level', 'info'], {}],
      ['CLAUDE_CREDS_LOG_LEVEL=info', [], { CLAUDE_CREDS_LOG_LEVEL: 'info' }],
      ['--log-level debug', ['--log-level', 'debug'], {}],
    ])('every step when asked with %s', async (_name, flags, env) => {
      const result = await runCli([...flags, '--', 'true'], { env: { HOME: tempDir(), ...login(), ...env } });
      expect(result.code, result.stderr).toBe(0);
      const messages = logLines(result.stderr).map((line) => line.msg);
      expect(messages).toEqual(expect.arrayContaining(['using the env provider', 'reading credentials from the store', 'credentials written', 'the command ended']));
    });

    test('warnings still print', async () => {
      const result = await runCli(['--', 'true'], { env: { HOME: tempDir(), ...login(Date.now() - 3600_000) } });
      expect(result.code, result.stderr).toBe(0);
      const warnings = logLines(result.stderr).filter((line) => line.level === 40);
      expect(warnings.map((line) => String(line.msg))).toEqual([expect.stringMatching(/the stored access token expired .* ago; writing it anyway/)]);
    });
  });
});
