import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Provider } from '../../src/core/provider.js';
import { createAzureProvider } from '../../src/providers/azure/index.js';
import { createGcpProvider } from '../../src/providers/gcp/index.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { startFakeAzure, type RunningFakeAzure } from '../fakes/azure-key-vault.js';
import { startFakeGcp, type RunningFakeGcp } from '../fakes/gcp-secret-manager.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { RecordingCredential } from '../providers/azure/support.js';
import { runCli } from '../support/cli.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { makeFakeCredentials, type FakeCredentials } from '../support/fake-credentials.js';
import { HOUR, expiresAtOf, loginOf, syncSettings, testContext, waitFor } from '../support/sync-harness.js';
import { useTempDir } from '../support/temp-dir.js';
import { figure } from './support.js';

/**
 * Issue 18: on a store without compare-and-swap another writer can land between claude-creds' check
 * and its write (below ours: an older login of ours would bury theirs) or right after it (on top of
 * ours). Whichever lands where, the freshest login must end as the latest version, in `push` and in
 * the sync engine, within the round that saw the conflict.
 */
type Point = 'before our write' | 'right after it';
type Other = 'newer' | 'older';

interface Store {
  readonly fake: RunningFake;
  provider(secret: string): Promise<Provider>;
}

const stores: Array<[string, () => Promise<Store>]> = [
  [
    'gcp',
    async () => {
      const fake: RunningFakeGcp = await startFakeGcp();
      return { fake, provider: (secret) => createGcpProvider(fake.providerConfig(secret)) };
    },
  ],
  [
    'azure',
    async () => {
      const fake: RunningFakeAzure = await startFakeAzure();
      return { fake, provider: (secret) => createAzureProvider(fake.providerConfig(secret), { credential: new RecordingCredential() }) };
    },
  ],
];

const cases: Array<[Point, Other]> = [
  ['before our write', 'newer'],
  ['before our write', 'older'],
  ['right after it', 'newer'],
  ['right after it', 'older'],
];

describe.each(stores)('on the %s store, a concurrent writer', (storeName, start) => {
  let store: Store;
  let counter = 0;
  const tempDir = useTempDir();
  const engines: SyncEngine[] = [];

  beforeAll(async () => {
    store = await start();
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.stop(2000)));
    store.fake.faults.reset();
  });
  afterAll(async () => {
    await store.fake.close();
  });

  /** A secret holding `base`, and three logins: base < (ours, theirs) in the order asked for. */
  function scenario(other: Other) {
    const name = `buried-${(counter += 1)}`;
    const now = Date.now();
    const base = makeFakeCredentials({ expiresAt: now + 1 * HOUR });
    const ours = makeFakeCredentials({ expiresAt: now + 3 * HOUR });
    const theirs = makeFakeCredentials({ expiresAt: now + (other === 'newer' ? 5 : 2) * HOUR });
    store.fake.store.addVersion(store.fake.storeKey(name), base.json);
    const freshest = other === 'newer' ? theirs : ours;
    return { name, key: store.fake.storeKey(name), base, ours, theirs, freshest };
  }

  function inject(point: Point, key: string, login: FakeCredentials): void {
    const write = () => void store.fake.store.addVersion(key, login.json);
    if (point === 'before our write') store.fake.faults.beforeNextWrite(write);
    else store.fake.faults.afterNextWrite(write);
  }

  const latestOf = (key: string): string | undefined => {
    const value = store.fake.store.latest(key)?.value;
    return value === undefined ? undefined : typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
  };

  test.each(cases)('landing %s with a %s login: push leaves the freshest login on top', async (point, other) => {
    const { name, key, ours, theirs, freshest } = scenario(other);
    const from = join(tempDir(), 'ours.json');
    writeFileSync(from, ours.json);
    inject(point, key, theirs);

    const result = await runCli(['push', ...store.fake.cliArgs, '--secret', store.fake.secretRef(name), '--from', from, '--timeout', '20s'], {
      env: { ...store.fake.cliEnv },
      timeoutMs: 40_000,
    });

    const versions = store.fake.store.get(key)?.versions.length ?? 0;
    figure(`buried login: push on ${storeName}, ${other} writer ${point}`, { exit: result.code ?? 'signal', versions });
    expect(result.stderr).toContain('another writer changed the store meanwhile');
    expect(loginOf(latestOf(key))).toEqual(loginOf(freshest.json));
    // A newer login in the store is not replaced (75, as without a race); ours on top is stored (0).
    expect(result.code, result.stderr).toBe(other === 'newer' ? 75 : 0);
    if (other === 'older') expect(result.stderr).toMatch(/"msg":"credentials stored"/);
    // Put back on top exactly when the write order left an older login there.
    const buried = (point === 'before our write') === (other === 'newer');
    expect(result.stderr.includes('writing the fresher one on top again')).toBe(buried);
  }, 60_000);

  test.each(cases)('landing %s with a %s login: the sync engine leaves the freshest login on top within the round', async (point, other) => {
    const { name, key, base, ours, theirs, freshest } = scenario(other);
    const local = join(tempDir(), '.claude', '.credentials.json');
    mkdirSync(join(local, '..'), { recursive: true });
    writeFileSync(local, base.json, { mode: 0o600 });
    const engine = new SyncEngine(await store.provider(name), syncSettings(local, { pullIntervalMs: 0 }), testContext());
    engines.push(engine);
    await engine.start();
    const before = store.fake.store.get(key)?.versions.length ?? 0;

    // The Claude CLI refreshed: the engine pushes `ours`, and the other writer lands at `point`.
    inject(point, key, theirs);
    await writeLikeClaudeCli(local, ours.json);
    await waitFor(() => (store.fake.store.get(key)?.versions.length ?? 0) >= before + 2, 10_000, 'both writes to land');
    await engine.idle();

    figure(`buried login: sync on ${storeName}, ${other} writer ${point}`, {
      versions: store.fake.store.get(key)?.versions.length ?? 0,
      conflicts: engine.status().counters.conflicts,
    });
    expect(engine.status().counters.conflicts).toBeGreaterThanOrEqual(1);
    // The store's copy carries claude-creds' bookkeeping (its generation): compare the logins.
    expect(loginOf(latestOf(key))).toEqual(loginOf(freshest.json));
    // The round also left the local file on the freshest login.
    expect(expiresAtOf(readFileSync(local))).toBe(freshest.expiresAt);
  }, 30_000);
});
