/**
 * Helpers for the shipping tests: build the bundle into a temporary directory (dist/ is git-ignored, so
 * these tests never rely on a build lying around), copy it into an empty directory, and run it with
 * plain `node` under the loopback guard.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GUARD, runProcess, type CliResult } from '../support/cli.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUILD_SCRIPT = join(ROOT, 'scripts', 'build.mjs');
export const BUNDLE_ENTRY = 'claude-creds.mjs';
/**
 * The node that runs the bundle under test: this process's own unless CLAUDE_CREDS_TEST_NODE names
 * another binary (`npm run test:node24` runs the bundle's tests on Node 24 while vitest stays on the
 * machine's Node).
 */
export const BUNDLE_NODE = process.env.CLAUDE_CREDS_TEST_NODE ?? process.execPath;

/** The parts of esbuild's metafile the tests read. */
export interface Metafile {
  readonly outputs: Record<
    string,
    {
      readonly bytes: number;
      readonly entryPoint?: string;
      readonly imports: ReadonlyArray<{ readonly path: string; readonly kind: string }>;
      readonly inputs: Record<string, { readonly bytesInOutput: number }>;
    }
  >;
}

export interface Build {
  /** The directory the build wrote (what `npm run build` writes to dist/). */
  readonly dist: string;
  readonly meta: Metafile;
  readonly buildMs: number;
  remove(): void;
}

/** Runs scripts/build.mjs (the script behind `npm run build`) into a fresh temporary directory. */
export function buildBundle(scriptPath = BUILD_SCRIPT, cwd = ROOT): Build {
  const work = mkdtempSync(join(tmpdir(), 'claude-creds-build-'));
  const dist = join(work, 'dist');
  const metaPath = join(work, 'meta.json');
  const started = performance.now();
  const result = spawnSync(process.execPath, [scriptPath, '--outdir', dist, '--meta', metaPath, '--quiet'], { cwd, encoding: 'utf8' });
  const buildMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`build failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return {
    dist,
    meta: JSON.parse(readFileSync(metaPath, 'utf8')) as Metafile,
    buildMs,
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}

/** A new directory holding only a copy of `dist` (as `dist/`), and nothing else. */
export function copyIntoEmptyDir(dist: string, name = 'dist'): { readonly root: string; readonly dist: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'claude-creds-empty-'));
  cpSync(dist, join(root, name), { recursive: true });
  return { root, dist: join(root, name), remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The node_modules directories Node would search from `dir` upwards: there must be none. */
export function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  let current = dir;
  for (;;) {
    if (existsSync(join(current, 'node_modules'))) found.push(join(current, 'node_modules'));
    if (current === parse(current).root) return found;
    current = dirname(current);
  }
}

export interface BundleRunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** Runs a built entry with plain `node` (BUNDLE_NODE, no tsx) under the loopback guard; checks its output for leaked tokens. */
export function runBundle(entry: string, args: readonly string[], options: BundleRunOptions = {}): Promise<CliResult> {
  return runProcess(BUNDLE_NODE, ['--import', GUARD, entry, ...args], `bundle ${args.join(' ')}`, {
    cwd: options.cwd ?? dirname(entry),
    // No NODE_PATH and no NODE_OPTIONS: nothing may point the bundle back at the repository's modules.
    env: { NODE_PATH: undefined, NODE_OPTIONS: undefined, ...options.env },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

