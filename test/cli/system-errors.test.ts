import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fatalLines, fatalMessage, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { mountTmpfs, mountUnavailableReason, remount, unmount } from '../reliability/support.js';

const mountReason = mountUnavailableReason();
if (mountReason !== undefined) console.log(`[system errors] SKIPPING the bind-mount and read-only cases: ${mountReason}`);

/**
 * The most common migration setups used to end in a raw system error (EBUSY, "ENOENT ... mkdir",
 * EACCES) or, worse, in a silent write to the wrong place. Each is reproduced for real here.
 */
describe('system errors of common setups, named with their fix', () => {
  const tempDir = useTempDir();
  const login = () => ({ CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 });

  test.skipIf(mountReason !== undefined)('a single-file bind mount at .credentials.json (EBUSY on rename): named, with "mount the directory"', async () => {
    const dir = tempDir();
    const config = join(dir, 'claude');
    mkdirSync(config);
    const hostFile = join(dir, 'host-credentials.json');
    const old = makeFakeCredentials({ expiresAt: Date.now() + 3600_000 }).json;
    writeFileSync(hostFile, old, { mode: 0o600 });
    const target = join(config, '.credentials.json');
    writeFileSync(target, '');
    execFileSync('mount', ['--bind', hostFile, target]);
    try {
      const result = await runCli(['fetch', '--force'], { env: { CLAUDE_CONFIG_DIR: config, ...login() } });
      expect(result.code, result.stderr).toBe(73);
      const message = fatalMessage(result.stderr);
      expect(message).toContain(`cannot write ${target}: ${target} is busy: it is a mount point, i.e. a single file bind-mounted on its own`);
      expect(message).toContain(`mount its directory instead (-v DIR:${config}`);
      expect(message).not.toMatch(/EBUSY/);
      expect(readFileSync(target, 'utf8')).toBe(old);
      expect(readdirSync(config)).toEqual(['.credentials.json']);
    } finally {
      unmount(target);
    }
  });

  test.skipIf(mountReason !== undefined)('a new config directory on a read-only filesystem ("ENOENT ... mkdir" before): says read-only and names the directory', async () => {
    const dir = tempDir();
    const volume = join(dir, 'volume');
    mkdirSync(volume);
    mountTmpfs(volume, 'size=64k');
    remount(volume, 'ro');
    try {
      const config = join(volume, 'home', '.claude');
      const result = await runCli(['fetch'], { env: { CLAUDE_CONFIG_DIR: config, ...login() } });
      expect(result.code, result.stderr).toBe(73);
      const message = fatalMessage(result.stderr);
      // The race-safe writer creates the missing directories one by one: the first it cannot make is named.
      expect(message).toContain(`cannot create the directory ${join(volume, 'home')}: ${volume} is on a read-only filesystem, so ${join(volume, 'home')} cannot be created there`);
      expect(message).toMatch(/mount a writable volume/);
      expect(message).not.toMatch(/ENOENT/);
    } finally {
      unmount(volume);
    }
  });

  test.each([
    ['a file without the execute bit', (dir: string) => {
      const file = join(dir, 'worker.sh');
      writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
      return { command: file, env: {} };
    }, /^cannot run .*worker\.sh: permission denied: it is not executable \(chmod \+x it\?\)$/, 126],
    ['a directory', (dir: string) => {
      mkdirSync(join(dir, 'app'));
      return { command: join(dir, 'app'), env: {} };
    }, /^cannot run .*\/app: permission denied: it is a directory$/, 126],
    ['a non-executable file found on PATH', (dir: string) => {
      mkdirSync(join(dir, 'bin'));
      writeFileSync(join(dir, 'bin', 'my-worker'), '#!/bin/sh\n', { mode: 0o644 });
      return { command: 'my-worker', env: { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` } };
    }, /^cannot run my-worker: permission denied: it is not executable \(chmod \+x\?\) or it is a directory$/, 126],
    ['a script whose #! interpreter is missing', (dir: string) => {
      const file = join(dir, 'worker.py');
      writeFileSync(file, '#!/no/such/python3\n', { mode: 0o755 });
      return { command: file, env: {} };
    }, /^cannot run .*worker\.py: the interpreter on its #! line was not found$/, 126],
  ])('a worker command that cannot run, %s: one line saying why (EACCES before)', async (_name, setup, message, code) => {
    const dir = tempDir();
    const { command, env } = setup(dir);
    const result = await runCli(['--', command], { env: { HOME: dir, ...login(), ...env } });
    expect(result.code, result.stderr).toBe(code);
    expect(fatalLines(result.stderr)).toHaveLength(1);
    expect(fatalMessage(result.stderr)).toMatch(message);
  });

  test('HOME empty with no CLAUDE_CONFIG_DIR and no --out: refused (exit 78), nothing written to /.claude', async () => {
    const before = existsSync('/.claude');
    for (const args of [['fetch'], ['--', 'true'], ['status']]) {
      const result = await runCli(args, { env: { HOME: '', ...login() } });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(78);
      expect(fatalMessage(result.stderr)).toBe('HOME is empty, so there is no ~/.claude to use (it would be /.claude): set CLAUDE_CONFIG_DIR or HOME, or give the file with --out');
    }
    expect(existsSync('/.claude')).toBe(before);
    const out = join(tempDir(), 'c.json');
    const withOut = await runCli(['fetch', '--out', out], { env: { HOME: '', ...login() } });
    expect(withOut.code, withOut.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  test('CLAUDE_CONFIG_DIR with a literal ~ (the Claude CLI does not expand it): refused (exit 78) with the absolute path', async () => {
    const home = tempDir();
    for (const args of [['fetch'], ['--', 'true'], ['status']]) {
      const result = await runCli(args, { env: { HOME: home, CLAUDE_CONFIG_DIR: '~/cfg', ...login() }});
      expect(result.code, result.stderr).toBe(78);
      expect(fatalMessage(result.stderr)).toBe(
        `CLAUDE_CONFIG_DIR is "~/cfg": the ~ was not expanded by a shell, and the Claude CLI does not expand it either (it would use a directory named ~ under its working directory); set it to the absolute path (${home}/cfg?)`,
      );
    }
    expect(existsSync(join(process.cwd(), '~'))).toBe(false);
    expect(existsSync(join(home, 'cfg'))).toBe(false);
  });
});
