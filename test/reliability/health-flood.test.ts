/**
 * The health endpoints face the pod network: a flood of slow clients (each sends its request a byte at a
 * time and never finishes) must not take the descriptors the sync needs, nor stop the probes for longer
 * than the flood lasts. In-process against a cap of 64 with a SyncEngine on a file store; and the real
 * sidecar under a 256-descriptor limit against 1,100 slow clients, the case.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createFileProvider } from '../../src/providers/file/index.js';
import { startHealthServer } from '../../src/sync/health-server.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { GUARD, runProcess } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { HOUR, expiresAtOf, sleep, syncSettings, testContext, waitFor } from '../support/sync-harness.js';
import { useTempDir } from '../support/temp-dir.js';
import { BUNDLE_ENTRY, buildBundle, type Build } from '../ship/ship-support.js';
import { figure } from './support.js';

const SLOW_CLIENTS = fileURLToPath(new URL('./slow-clients.mjs', import.meta.url));

interface Flood {
  stop(): Promise<Record<string, number>>;
}

/** Starts slow-clients.mjs in its own process (its descriptors are not counted against the server's). */
async function startFlood(port: number, count: number, intervalMs: number): Promise<Flood> {
  // Its own descriptor limit, high enough for the count whatever the machine's default is.
  const child: ChildProcess = spawn('prlimit', [`--nofile=${count + 256}`, process.execPath, SLOW_CLIENTS, String(port), String(count), String(intervalMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Should this test process end first (a timeout), the flood must not outlive it.
  const orphaned = () => child.kill('SIGKILL');
  process.once('exit', orphaned);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.off('exit', orphaned));
  await waitFor(() => output.includes('ready') || child.exitCode !== null, 10_000, 'the slow clients to start');
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const line = output.split('\n').find((text) => text.startsWith('{'));
      return line === undefined ? {} : (JSON.parse(line) as Record<string, number>);
    },
  };
}

function fdCount(pid: number | 'self'): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** GET on a fresh connection; the status code, or the error code when the server closed it. */
function get(port: number, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 2_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end();
  });
}

/** Polls /healthz on fresh connections until it answers 200; the ms it took. */
async function healthzAnswers(port: number, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await get(port, '/healthz')) === 200) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`/healthz did not answer within ${withinMs} ms`);
    await sleep(100);
  }
}

describe.skipIf(process.platform !== 'linux')('a flood of slow clients on the health port', () => {
  const tempDir = useTempDir();

  test('in-process, 200 slow clients against a cap of 64: every local change still reaches the store, descriptors stay bounded, /healthz answers once the flood ends', async () => {
    const dir = tempDir();
    const store = join(dir, 'store.json');
    const local = join(dir, 'cfg', '.credentials.json');
    const start = Date.now() + 2 * HOUR;
    writeFileSync(store, makeFakeCredentials({ expiresAt: start }).json);
    const provider = await createFileProvider({ name: 'file', secret: store, region: undefined, endpoint: undefined, project: undefined, vaultUrl: undefined, caFile: undefined, env: {} });
    const engine = new SyncEngine(provider, syncSettings(local, { pullIntervalMs: 200 }), testContext());
    await engine.start();
    const health = await startHealthServer({ host: '127.0.0.1', port: 0, status: () => engine.status(), maxConnections: 64, headersTimeoutMs: 1_000, idleTimeoutMs: 1_000 });
    const baseline = fdCount('self');
    let maxFds = baseline;
    const sampler = setInterval(() => (maxFds = Math.max(maxFds, fdCount('self'))), 25);
    let flood: Flood | undefined;
    let delivered = 0;
    const changes = 20;
    try {
      flood = await startFlood(health.port, 200, 100);
      for (let change = 1; change <= changes; change += 1) {
        const expiresAt = start + change * HOUR;
        await writeLikeClaudeCli(local, makeFakeCredentials({ expiresAt }).json);
        await waitFor(() => expiresAtOf(readFileSync(store)) === expiresAt, 5_000, `change ${change} to reach the store`);
        delivered += 1;
        await sleep(100);
      }
    } finally {
      clearInterval(sampler);
      const stats = (await flood?.stop()) ?? {};
      const healthzMs = await healthzAnswers(health.port, 3_000).catch(() => -1);
      const { counters } = engine.status();
      figure('health flood (in-process): 200 slow clients, cap 64', {
        changes_pushed: `${delivered}/${changes}`,
        pushes: counters.pushes,
        failures: JSON.stringify(counters.failures),
        fds_baseline: baseline,
        fds_max: maxFds,
        client_connects: stats.connected ?? 0,
        closed_by_server: stats.closedByServer ?? 0,
        healthz_after_ms: healthzMs,
      });
      await health.close();
      await engine.stop(2_000);
      expect(delivered).toBe(changes);
      expect(counters.failures).toEqual({});
      // The server's share: at most the cap, plus a little for the store and file work in flight.
      expect(maxFds - baseline).toBeLessThanOrEqual(64 + 16);
      expect(stats.closedByServer).toBeGreaterThan(0);
      expect(healthzMs).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);

  describe('the real sidecar', () => {
    let build: Build;
    beforeAll(() => {
      build = buildBundle();
    }, 60_000);
    afterAll(() => build?.remove());

    test('under a 256-descriptor limit, 1,100 slow clients: no sync operation fails with EMFILE, every local change reaches the store', async () => {
      const dir = tempDir();
      const store = join(dir, 'store.json');
      const config = join(dir, 'cfg');
      mkdirSync(config);
      const local = join(config, '.credentials.json');
      const start = Date.now() + 2 * HOUR;
      writeFileSync(store, makeFakeCredentials({ expiresAt: start }).json);
      let port = 0;
      let pid = -1;
      let stderr = '';
      let stop: (() => void) | undefined;
      const sidecar = runProcess(
        'prlimit',
        ['--nofile=256', process.execPath, '--import', GUARD, join(build.dist, BUNDLE_ENTRY), 'sidecar', '--provider', 'file', '--secret', store, '--out', local, '--health-port', '0', '--health-host', '127.0.0.1', '--pull-interval', '1s'],
        'sidecar under a flood',
        {
          timeoutMs: 100_000,
          onSpawn: (child) => {
            pid = child.pid ?? -1;
            stop = () => child.kill('SIGTERM');
            child.stderr?.on('data', (chunk: Buffer) => {
              stderr += chunk.toString();
              const match = /"healthPort":(\d+)/.exec(stderr);
              if (match?.[1] !== undefined) port = Number(match[1]);
            });
          },
        },
      );
      await waitFor(() => port !== 0, 20_000, 'the sidecar to serve its health port');
      let maxFds = fdCount(pid);
      const sampler = setInterval(() => (maxFds = Math.max(maxFds, fdCount(pid))), 50);
      const changes = 20;
      let delivered = 0;
      let flood: Flood | undefined;
      let stats: Record<string, number> = {};
      let healthzMs = -1;
      try {
        flood = await startFlood(port, 1_100, 200);
        await sleep(1_000); // let the flood reach its height before the sync has work to do
        for (let change = 1; change <= changes; change += 1) {
          const expiresAt = start + change * HOUR;
          await writeLikeClaudeCli(local, makeFakeCredentials({ expiresAt }).json);
          const reached = await waitFor(() => expiresAtOf(readFileSync(store)) === expiresAt, 3_000, 'the store').then(
            () => true,
            () => false,
          );
          if (reached) delivered += 1;
          await sleep(150);
        }
      } finally {
        clearInterval(sampler);
        stats = (await flood?.stop()) ?? {};
        if (port !== 0) healthzMs = await healthzAnswers(port, 5_000).catch(() => -1);
        stop?.();
      }
      const result = await sidecar;
      const emfile = (result.stderr.match(/EMFILE|too many open files/gi) ?? []).length;
      figure('health flood (sidecar, nofile 256): 1,100 slow clients', {
        changes_pushed: `${delivered}/${changes}`,
        emfile_lines: emfile,
        fds_max: maxFds,
        client_connects: stats.connected ?? 0,
        closed_by_server: stats.closedByServer ?? 0,
        max_open_seen_by_clients: stats.maxOpen ?? 0,
        healthz_after_ms: healthzMs,
      });
      expect(result.code, result.stderr.slice(-2000)).toBe(0);
      expect(emfile).toBe(0);
      expect(delivered).toBe(changes);
      expect(maxFds).toBeLessThan(256);
      expect(healthzMs).toBeGreaterThanOrEqual(0);
    }, 150_000);
  });
});
