/**
 * Root writing with --owner into a directory the worker owns, while the worker (another process, its
 * own uid, no groups) swaps the target, or the directory, with a symbolic link to a root-owned victim
 * as fast as renameat2(RENAME_EXCHANGE) allows. Whatever the interleaving, no file outside the worker's
 * directory may change owner, mode or content, and no worker-owned file may appear in a root-owned
 * directory. Run both through the real bundle (`fetch --owner`) and, for many more attempts, through the
 * same write in a loop in one process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFakeCredentials, type FakeCredentials } from '../support/fake-credentials.js';
import { BUNDLE_ENTRY, buildBundle, runBundle, type Build } from '../ship/ship-support.js';
import { bundleChild, figure, isRoot } from './support.js';

const ATTACKER = fileURLToPath(new URL('./swap-attacker.py', import.meta.url));
const WORKER = { uid: 1000, gid: 1000 };
const CLI_RUNS = 20;
const LOOP_WRITES = 1500;

function python3Missing(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import ctypes'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'python3 (for the attacker) is not available';
}

const skipReason = !isRoot
  ? 'needs root: the attack is on root writing with --owner'
  : process.platform !== 'linux'
    ? 'needs Linux (renameat2, /proc/self/fd)'
    : python3Missing();

interface Layout {
  readonly base: string;
  readonly victims: string;
  readonly home: string;
  readonly config: string;
  readonly out: string;
}

/** base (root 0755) / victims (root) + home (worker) / .claude (worker 0700) / .credentials.json (worker 0600). */
function makeLayout(): Layout {
  const base = mkdtempSync(join(tmpdir(), 'claude-creds-race-'));
  chmodSync(base, 0o755);
  const victims = join(base, 'victims');
  mkdirSync(victims, { mode: 0o755 });
  const home = join(base, 'home');
  mkdirSync(home, { mode: 0o755 });
  chownSync(home, WORKER.uid, WORKER.gid);
  const config = join(home, '.claude');
  mkdirSync(config, { mode: 0o700 });
  chownSync(config, WORKER.uid, WORKER.gid);
  const out = join(config, '.credentials.json');
  writeFileSync(out, '{}\n', { mode: 0o600 });
  chownSync(out, WORKER.uid, WORKER.gid);
  return { base, victims, home, config, out };
}

interface Scenario {
  readonly name: string;
  /**
   * The same secret every run, so each run after the first takes the "identical content: settle mode
   * and owner" path, where a path-based chmod/chown would follow the link; otherwise new and same in turn.
   */
  readonly settleEveryRun: boolean;
  /** Plants the victim(s) under `victims`; returns where the attacker swaps: the directory, the target's name, the link's target. */
  readonly plant: (layout: Layout) => { dir: string; target: string; victim: string };
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'the credentials file swapped with a link to a root 0644 file',
    settleEveryRun: true,
    plant: ({ victims, config }) => {
      const victim = join(victims, 'config-file');
      writeFileSync(victim, 'root owns this\n', { mode: 0o644 });
      chmodSync(victim, 0o644);
      return { dir: config, target: '.credentials.json', victim };
    },
  },
  {
    name: 'the credentials file swapped with a link to a setuid root program',
    settleEveryRun: true,
    plant: ({ victims, config }) => {
      const victim = join(victims, 'setuid-tool');
      writeFileSync(victim, '#!/bin/sh\nexit 0\n');
      chmodSync(victim, 0o4755);
      return { dir: config, target: '.credentials.json', victim };
    },
  },
  {
    name: 'the config directory swapped with a link to a root-owned directory',
    settleEveryRun: false,
    plant: ({ victims, home }) => {
      const victim = join(victims, 'root-dir');
      mkdirSync(victim, { mode: 0o755 });
      writeFileSync(join(victim, '.credentials.json'), 'root owns this too\n', { mode: 0o644 });
      chmodSync(join(victim, '.credentials.json'), 0o644);
      return { dir: home, target: '.claude', victim };
    },
  },
];

/** Every entry under `dir` (links not followed): name, owner, mode and a digest of the content. */
function snapshot(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const stats = lstatSync(path);
      const digest = stats.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12) : stats.isDirectory() ? 'dir' : 'other';
      const line = `${prefix}${name} ${stats.uid}:${stats.gid} ${(stats.mode & 0o7777).toString(8)} ${digest}`;
      return stats.isDirectory() ? [line, ...snapshot(path, `${prefix}${name}/`)] : [line];
    });
}

interface Attacker {
  stop(): Promise<number>;
}

/** Starts swap-attacker.py (it drops to the worker's uid itself) and waits for its first exchange. */
async function startAttacker(dir: string, target: string, victim: string): Promise<Attacker> {
  const child: ChildProcess = spawn('python3', [ATTACKER, String(WORKER.uid), String(WORKER.gid), dir, target, `${target}-decoy`, victim], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  // Should this test process end first (a timeout), the attacker must not outlive it.
  const orphaned = () => child.kill('SIGKILL');
  process.once('exit', orphaned);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.off('exit', orphaned));
  const started = Date.now();
  while (!output.includes('ready')) {
    if (Date.now() - started > 10_000 || child.exitCode !== null) throw new Error(`the attacker did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return Number(/swaps=(\d+)/.exec(output)?.[1] ?? -1);
    },
  };
}

describe.skipIf(skipReason !== undefined)(`root with --owner in a directory the worker owns, under a concurrent swapping attacker${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`, () => {
  let build: Build;
  let loopChild: string;
  let work: string;
  const layouts: Layout[] = [];

  beforeAll(async () => {
    build = buildBundle();
    work = mkdtempSync(join(tmpdir(), 'claude-creds-race-build-'));
    loopChild = await bundleChild(work, 'owner-race-child');
  }, 60_000);
  afterAll(() => {
    build?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
    for (const layout of layouts) rmSync(layout.base, { recursive: true, force: true });
  });

  test.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))(
    '%s: `claude-creds fetch --owner` changes nothing outside the target',
    async (_name, scenario) => {
      const layout = makeLayout();
      layouts.push(layout);
      const { dir, target, victim } = scenario.plant(layout);
      const before = snapshot(layout.victims);
      const fakes: FakeCredentials[] = Array.from({ length: CLI_RUNS / 2 }, (_, index) => makeFakeCredentials({ expiresAt: Date.now() + (index + 1) * 3600_000 }));
      const attacker = await startAttacker(dir, target, victim);
      const codes = new Map<number, number>();
      let compromisedAt: number | undefined;
      let runs = 0;
      try {
        for (let run = 0; run < CLI_RUNS && compromisedAt === undefined; run += 1) {
          const fake = fakes[scenario.settleEveryRun ? 0 : Math.floor(run / 2)] as FakeCredentials;
          const result = await runBundle(join(build.dist, BUNDLE_ENTRY), ['fetch', '--force', '--owner', `${WORKER.uid}:${WORKER.gid}`, '--out', layout.out], {
            env: { CLAUDE_CREDENTIALS_B64: fake.base64 },
          });
          runs += 1;
          codes.set(result.code ?? -1, (codes.get(result.code ?? -1) ?? 0) + 1);
          if (snapshot(layout.victims).join('\n') !== before.join('\n')) compromisedAt = run + 1;
        }
      } finally {
        const swaps = await attacker.stop();
        figure(`owner race (CLI): ${scenario.name}`, {
          runs,
          swaps,
          exit_codes: [...codes].map(([code, count]) => `${code}x${count}`).join(','),
          compromised_at_run: compromisedAt ?? 'never',
        });
      }
      expect(snapshot(layout.victims)).toEqual(before);
      expect(existsSync(victim)).toBe(true);
    },
    90_000,
  );

  test.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))(
    '%s: the same write in a loop, thousands of times, changes nothing outside the target',
    async (_name, scenario) => {
      const layout = makeLayout();
      layouts.push(layout);
      const { dir, target, victim } = scenario.plant(layout);
      const before = snapshot(layout.victims);
      const attacker = await startAttacker(dir, target, victim);
      let outcomes = '';
      try {
        const result = spawnSync(process.execPath, [loopChild, layout.out, `${WORKER.uid}:${WORKER.gid}`, String(LOOP_WRITES)], { encoding: 'utf8', timeout: 60_000 });
        expect(result.status, result.stderr).toBe(0);
        outcomes = result.stdout.trim();
      } finally {
        const swaps = await attacker.stop();
        const counts = outcomes === '' ? {} : (JSON.parse(outcomes) as Record<string, number>);
        figure(`owner race (loop): ${scenario.name}`, { writes: LOOP_WRITES, swaps, ...counts, victims_changed: snapshot(layout.victims).join('\n') !== before.join('\n') });
      }
      expect(snapshot(layout.victims)).toEqual(before);
    },
    90_000,
  );
});

