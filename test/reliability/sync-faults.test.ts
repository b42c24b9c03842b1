import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../src/core/credentials.js';
import { createAwsProvider } from '../../src/providers/aws/index.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { HOUR, expiresAtOf, sleep, syncSettings, testContext, waitFor, loginOf } from '../support/sync-harness.js';

/**
 * Sync under store faults: write-back failures (and a restart while they last), and 20 sidecars on one
 * store with random refreshes, injected errors and latency, watched by readers for torn files.
 */
let aws: RunningFakeAws;
const engines: SyncEngine[] = [];
let counter = 0;
beforeAll(async () => {
  Object.assign(process.env, FAKE_AWS_ENV);
  aws = await startFakeAws();
});
afterEach(async () => {
  aws.faults.reset();
  await Promise.all(engines.splice(0).map((engine) => engine.stop(1000)));
});
afterAll(async () => {
  await aws.close();
});

describe('sync under store faults', () => {
  const tempDir = useTempDir('claude-creds-sync-faults-');

  async function engineFor(name: string, local: string, pullIntervalMs: number): Promise<SyncEngine> {
    const engine = new SyncEngine(await createAwsProvider(aws.providerConfig(name)), syncSettings(local, { pullIntervalMs }), testContext(4000));
    engines.push(engine);
    await engine.start();
    return engine;
  }

  test('a refreshed token whose push keeps failing stays in the local file and lands once the store recovers', async () => {
    const name = `writeback-${(counter += 1)}`;
    const key = aws.storeKey(name);
    const old = makeFakeCredentials({ expiresAt: Date.now() + HOUR });
    aws.store.addVersion(key, old.json);
    const local = join(tempDir(), 'w', '.credentials.json');
    await engineFor(name, local, 300);

    aws.faults.failNext(10_000, 'unavailable', 'PutSecretValue');
    const refreshed = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    await writeLikeClaudeCli(local, refreshed.json);
    await sleep(1500); // several push attempts and pull ticks, all failing to write
    const failedPuts = aws.faults.count('PutSecretValue');
    expect(failedPuts).toBeGreaterThan(1);
    expect(expiresAtOf(aws.store.current(key)?.value)).toBe(old.expiresAt);
    expect(readFileSync(local, 'utf8')).toBe(refreshed.json); // never replaced by the older store copy

    aws.faults.reset();
    const landed = await waitFor(() => expiresAtOf(aws.store.current(key)?.value) === refreshed.expiresAt, 2000, 'the re-push');
    console.log(`[reliability] write-back: ${failedPuts} failed PutSecretValue calls, then landed ${landed} ms after the store recovered`);
  });

  test('a sidecar restarted while the store refused writes pushes what the local file has, on start', async () => {
    const name = `restart-${(counter += 1)}`;
    const key = aws.storeKey(name);
    aws.store.addVersion(key, makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json);
    const local = join(tempDir(), 'w', '.credentials.json');
    const first = await engineFor(name, local, 60_000);

    aws.faults.failNext(10_000, 'unavailable', 'PutSecretValue');
    const refreshed = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    await writeLikeClaudeCli(local, refreshed.json);
    await sleep(300);
    await first.stop(500); // its shutdown flush fails too: the store is still refusing
    engines.splice(engines.indexOf(first), 1);
    expect(expiresAtOf(aws.store.current(key)?.value)).not.toBe(refreshed.expiresAt);

    aws.faults.reset();
    const started = Date.now();
    await engineFor(name, local, 60_000); // the restarted sidecar
    expect(loginOf(aws.store.current(key)?.value)).toEqual(loginOf(refreshed.json));
    console.log(`[reliability] restart: the token the first sidecar could not push landed during the second one's start (${Date.now() - started} ms)`);
  });

  test('20 sidecars, random refreshes, 10% injected errors, random latency: monotonic store, no torn file, convergence within one pull interval', async () => {
    const name = `twenty-${(counter += 1)}`;
    const key = aws.storeKey(name);
    const base = Date.now() + HOUR;
    aws.store.addVersion(key, makeFakeCredentials({ expiresAt: base }).json);
    const dir = tempDir();
    const pullIntervalMs = 500;
    const locals = Array.from({ length: 20 }, (_, i) => join(dir, `w${i}`, '.credentials.json'));
    for (const local of locals) await engineFor(name, local, pullIntervalMs);

    aws.faults.failRandomly(0.1, 'unavailable').delay(0, 40);
    let storeWentBack = 0;
    let lastStore = -1;
    let reads = 0;
    let torn = 0;
    const watcher = setInterval(() => {
      const seen = expiresAtOf(aws.store.current(key)?.value);
      if (seen < lastStore) storeWentBack += 1;
      lastStore = Math.max(lastStore, seen);
      for (const local of locals) {
        reads += 1;
        try {
          parseCredentials(readFileSync(local));
        } catch {
          torn += 1;
        }
      }
    }, 3);

    let newest = base;
    const rounds = 12;
    let refreshes = 0;
    for (let round = 1; round <= rounds; round += 1) {
      const writers = locals.filter(() => Math.random() < 0.15);
      await Promise.all(
        writers.map((local, i) => {
          const expiresAt = base + round * 10_000 + i * 13 + Math.floor(Math.random() * 7);
          newest = Math.max(newest, expiresAt);
          refreshes += 1;
          return writeLikeClaudeCli(local, makeFakeCredentials({ expiresAt }).json);
        }),
      );
      await sleep(50 + Math.random() * 150);
    }
    // Two phases: the newest token's push landing in the store (debounce, compare-and-swap under
    // conflicts and injected errors), then every other sidecar's next pull.
    const pushed = await waitFor(() => expiresAtOf(aws.store.current(key)?.value) === newest, 5000, 'the store to hold the newest token');
    const converged = await waitFor(
      () => locals.every((local) => expiresAtOf(readFileSync(local)) === newest),
      pullIntervalMs + 5000,
      'every file to hold the newest token',
    );
    clearInterval(watcher);
    const calls = aws.faults.calls.length;
    console.log(
      `[reliability] 20 sidecars: ${rounds} rounds, ${refreshes} refreshes, ${calls} store calls with ~10% failing and 0-40 ms latency; ` +
        `newest token in the store ${pushed} ms after the last refresh, every file ${converged} ms after that (pull interval ${pullIntervalMs} ms); ` +
        `${reads} file reads, ${torn} torn; store went back ${storeWentBack} times`,
    );
    expect(storeWentBack).toBe(0);
    expect(torn).toBe(0);
    // One pull interval, plus the pull itself (a read that may hit an injected error and be retried, and a locked write).
    expect(converged).toBeLessThanOrEqual(pullIntervalMs + 500);
  }, 60_000);
});
