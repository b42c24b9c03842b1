import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Provider } from '../../src/core/provider.js';
import { createAwsProvider } from '../../src/providers/aws/index.js';
import { createAzureProvider } from '../../src/providers/azure/index.js';
import { createGcpProvider } from '../../src/providers/gcp/index.js';
import { createVaultProvider } from '../../src/providers/vault/index.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { FAKE_AWS_ENV, startFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../fakes/azure-key-vault.js';
import { startFakeGcp } from '../fakes/gcp-secret-manager.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { startFakeVault } from '../fakes/vault.js';
import { RecordingCredential } from '../providers/azure/support.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { HOUR, expiresAtOf, syncSettings, testContext, waitFor } from '../support/sync-harness.js';
import { useTempDir } from '../support/temp-dir.js';
import { figure } from './support.js';

/**
 * The store-calls metric (claude_creds_store_calls_total, /status) must count what the store saw: every
 * request the provider sent, retries after injected errors and the store's own auth calls included,
 * not one per logical read or write.
 */
interface Store {
  readonly fake: RunningFake;
  provider(secret: string): Promise<Provider>;
  /** Requests the fake has seen so far, by its own log. */
  seen(): number;
  readonly read: string;
  readonly write: string;
}

const stores: Array<[string, () => Promise<Store>]> = [
  [
    'aws',
    async () => {
      Object.assign(process.env, FAKE_AWS_ENV);
      const fake = await startFakeAws();
      return { fake, provider: (s) => createAwsProvider(fake.providerConfig(s)), seen: () => fake.requests.length, read: 'GetSecretValue', write: 'PutSecretValue' };
    },
  ],
  [
    'gcp',
    async () => {
      const fake = await startFakeGcp();
      return { fake, provider: (s) => createGcpProvider(fake.providerConfig(s)), seen: () => fake.faults.calls.length, read: 'AccessSecretVersion', write: 'AddSecretVersion' };
    },
  ],
  [
    'azure',
    async () => {
      const fake = await startFakeAzure();
      return {
        fake,
        provider: (s) => createAzureProvider(fake.providerConfig(s), { credential: new RecordingCredential() }),
        // The vault's requests, the unauthenticated challenge included (no Entra ID calls in-process).
        seen: () => fake.requests.length,
        read: 'getSecret',
        write: 'setSecret',
      };
    },
  ],
  [
    'vault',
    async () => {
      const fake = await startFakeVault();
      return { fake, provider: (s) => createVaultProvider(fake.providerConfig(s)), seen: () => fake.requests.length, read: 'kv-read', write: 'kv-write' };
    },
  ],
];

describe.each(stores)('the store-calls metric on %s', (name, start) => {
  let store: Store;
  const tempDir = useTempDir();

  beforeAll(async () => {
    store = await start();
  });
  afterAll(async () => {
    await store.fake.close();
  });

  test('equals the requests the store saw, under injected errors', async () => {
    const { faults } = store.fake;
    store.fake.store.addVersion(store.fake.storeKey('metric'), makeFakeCredentials({ expiresAt: Date.now() + 2 * HOUR }).json);
    const local = join(tempDir(), '.claude', '.credentials.json');
    mkdirSync(join(local, '..'), { recursive: true });
    const before = store.seen();
    const engine = new SyncEngine(await store.provider('metric'), syncSettings(local, { pullIntervalMs: 0 }), testContext());

    faults.failNext(2, 'unavailable', store.read);
    await engine.start();
    for (const kind of ['throttle', 'unavailable', 'internal'] as const) {
      faults.failNext(1, kind, store.read);
      await engine.pullNow();
    }
    const newer = makeFakeCredentials({ expiresAt: Date.now() + 6 * HOUR });
    faults.failNext(1, 'unavailable', store.write);
    await writeLikeClaudeCli(local, newer.json);
    await waitFor(() => expiresAtOf(store.fake.store.latest(store.fake.storeKey('metric'))?.value) === newer.expiresAt, 10_000, 'the push to land');
    await engine.idle();

    const counted = engine.status().counters.storeCalls;
    const seen = store.seen() - before;
    await engine.stop(1000);
    figure(`store calls (${name})`, { metric: counted, store_saw: seen, injected_errors: 6 });
    expect(counted).toBe(seen);
  }, 30_000);
});
