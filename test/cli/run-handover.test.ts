/**
 * How the wrapper hands over to the command: as another user with `--user` (root only), and in its own
 * place with execve where the runtime has it (Node >= 22.15; the bundle run by CLAUDE_CREDS_NODE24), else
 * as a child, saying why at debug level.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fakeSetupToken } from '../kinds/support.js';
import { node24Binary } from '../reliability/support.js';
import { BUNDLE_ENTRY, buildBundle, type Build } from '../ship/ship-support.js';
import { ENTRYPOINT, GUARD, logLines, runCli, runProcess, type ProcessOptions } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

const isRoot = process.getuid?.() === 0;
const USER = '4321:4322';
// The CLI run as uid 1000 must be able to read this checkout: not so in a clone under a 0700 directory
// (as `mktemp -d` makes); then that one check cannot run here, and says so.
const readableAsUid1000 =
  isRoot && spawnSync(process.execPath, ['-e', 'require("node:fs").accessSync(process.argv[1], require("node:fs").constants.R_OK)', ENTRYPOINT], { uid: 1000, gid: 1000 }).status === 0;
if (isRoot && !readableAsUid1000) console.log(`SKIPPED: uid 1000 cannot read ${ENTRYPOINT} (a parent directory is closed to it), so the CLI cannot be run as a non-root user here`);
const node24 = node24Binary();

describe('--user UID:GID', () => {
  const tempDir = useTempDir();

  test.runIf(isRoot)('runs the command as that uid and gid with no supplementary groups; the file and its new directory are theirs', async () => {
    const home = tempDir();
    chmodSync(home, 0o755);
    const out = join(home, 'cfg', '.credentials.json');
    const result = await runCli(['--user', USER, '--out', out, '--', 'sh', '-c', 'echo "$(id -u):$(id -g)"; grep "^Groups:" /proc/self/status; test -r "$0" && echo readable', out], {
      env: { HOME: home, CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 },
    });
    expect(result.code, result.stderr).toBe(0);
    const [ids, groups, readable] = result.stdout.trim().split('\n');
    expect(ids).toBe(USER);
    expect(groups?.replace(/\s+/g, ' ').trim()).toBe('Groups:');
    expect(readable).toBe('readable');
    expect(statSync(out)).toMatchObject({ uid: 4321, gid: 4322 });
    expect(statSync(join(home, 'cfg'))).toMatchObject({ uid: 4321, gid: 4322 });
  });

  test.runIf(isRoot)('a setup token handed over by descriptor is readable by the command as that user', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const token = fakeSetupToken();
    const store = join(dir, 'store');
    writeFileSync(store, `${token}\n`);
    const script = 'cat "/proc/self/fd/$CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR" | tr -d "\\n" | sha256sum | cut -d" " -f1';
    const result = await runCli(['--provider', 'file', '--secret', store, '--user', USER, '--', 'sh', '-c', script], { env: { CLAUDE_CONFIG_DIR: join(dir, 'cfg') } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(createHash('sha256').update(token).digest('hex'));
  });

  test.runIf(readableAsUid1000)('not root: exit 64 saying that --user needs root, and the command never starts', async () => {
    const home = tempDir();
    chmodSync(home, 0o777);
    const marker = join(home, 'started');
    const result = await runCli(['--user', USER, '--', 'touch', marker], { env: { HOME: home, CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 }, uid: 1000, gid: 1000 });
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/--user 4321:4322 needs claude-creds to run as root/);
    expect(() => statSync(marker)).toThrow();
  });

  test('a user that is not numeric uid:gid is a usage error', async () => {
    const result = await runCli(['--user', 'worker', '--', 'true'], { env: { CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 } });
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/--user takes numeric UID:GID/);
  });
});

describe('the hand-over to the command', () => {
  const tempDir = useTempDir();
  let build: Build;
  beforeAll(() => {
    build = buildBundle();
  }, 60_000);
  afterAll(() => build?.remove());

  const bundle = (node: string, args: readonly string[], options: ProcessOptions = {}) =>
    runProcess(node, ['--import', GUARD, join(build.dist, BUNDLE_ENTRY), ...args], `bundle ${args.join(' ')}`, options);
  const envFor = (home: string) => ({ HOME: home, CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64, CLAUDE_CREDS_LOG_LEVEL: 'debug' });

  test.runIf(typeof (process as { execve?: unknown }).execve !== 'function')(`Node ${process.versions.node} has no execve: claude-creds stays as the parent and says why at debug level`, async () => {
    let pid = -1;
    const result = await bundle(process.execPath, ['--', 'sh', '-c', 'echo $PPID'], { env: envFor(tempDir()), onSpawn: (child) => (pid = child.pid ?? -1) });
    expect(result.code, result.stderr).toBe(0);
    expect(Number(result.stdout.trim())).toBe(pid);
    const why = logLines(result.stderr).find((line) => line.msg === "claude-creds stays as the command's parent");
    expect(why).toMatchObject({ level: 20, reason: expect.stringMatching(/has no process\.execve \(Node >= 22\.15 has\).*use --user/) });
  });

  describe.skipIf(node24 === undefined)(`with process.execve (Node ${node24?.version ?? '>= 22.15'})${node24 === undefined ? ' (skipped: set CLAUDE_CREDS_NODE24 to a Node >= 22.15 binary)' : ''}`, () => {
    const node = node24?.path as string;

    test('the command takes claude-creds\' pid: its parent is whoever started claude-creds', async () => {
      let pid = -1;
      const result = await bundle(node, ['--', 'sh', '-c', 'echo "$$ $PPID"'], { env: envFor(tempDir()), onSpawn: (child) => (pid = child.pid ?? -1) });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(`${pid} ${process.pid}`);
      expect(logLines(result.stderr).at(-1)).toMatchObject({ msg: 'starting the command in place of claude-creds', handOver: 'execve' });
    });

    test.each([
      ['exit 3', ['sh', '-c', 'exit 3'], 3, null],
      ['killed by SIGTERM', ['sh', '-c', 'kill -TERM $$'], null, 'SIGTERM'],
    ])('its exit status is its own: %s', async (_name, command, code, signal) => {
      const result = await bundle(node, ['--', ...command], { env: envFor(tempDir()) });
      expect({ code: result.code, signal: result.signal }).toEqual({ code, signal });
    });

    test('a signal sent to claude-creds\' pid reaches the command itself', async () => {
      const result = await bundle(node, ['--', 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done'], {
        env: envFor(tempDir()),
        onSpawn: (child) => {
          child.stdout?.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('ready')) child.kill('SIGTERM');
          });
        },
      });
      expect(result.code).toBe(42);
    });

    test('stdout and stderr are blocking again in the command (Node leaves pipes non-blocking)', async () => {
      const result = await bundle(node, ['--', 'sh', '-c', 'for fd in 1 2; do sed -n "s/^flags:\\t*//p" /proc/self/fdinfo/$fd; done'], { env: envFor(tempDir()) });
      expect(result.code, result.stderr).toBe(0);
      const flags = result.stdout.trim().split('\n').map((text) => Number.parseInt(text, 8));
      expect(flags).toHaveLength(2);
      for (const value of flags) expect(value & 0o4000).toBe(0);
    });

    test('a script without #! is started as a child instead (execve cannot run it; a shell would)', async () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'bin'));
      const script = join(dir, 'bin', 'no-shebang');
      writeFileSync(script, 'echo "ran $PPID"; exit 5\n', { mode: 0o755 });
      let pid = -1;
      const result = await bundle(node, ['--', script], { env: envFor(dir), onSpawn: (child) => (pid = child.pid ?? -1) });
      expect(result.code, result.stderr).toBe(5);
      expect(result.stdout.trim()).toBe(`ran ${pid}`);
    });

    test('a command that does not exist is exit 127 with one clear line, not a crash', async () => {
      const result = await bundle(node, ['--', 'no-such-command-claude-creds'], { env: { ...envFor(tempDir()), CLAUDE_CREDS_LOG_LEVEL: 'warn' } });
      expect(result.code).toBe(127);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/command not found: no-such-command-claude-creds/);
    });
  });
});
