import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Provider } from '../../src/core/provider.js';
import { createAwsProvider } from '../../src/providers/aws/index.js';
import { createAzureProvider } from '../../src/providers/azure/index.js';
import { createGcpProvider } from '../../src/providers/gcp/index.js';
import { resolveConflict } from '../../src/store/resolve-conflict.js';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../fakes/azure-key-vault.js';
import { startFakeGcp } from '../fakes/gcp-secret-manager.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { RecordingCredential } from '../providers/azure/support.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { HOUR, testContext } from '../support/sync-harness.js';

interface Store {
  readonly fake: RunningFake;
  provider(secret: string): Promise<Provider>;
  /** The write operation's name in the fake. */
  readonly writeOperation: string;
}

const stores: Array<[string, () => Promise<Store>]> = [
  [
    'gcp',
    async () => {
      const fake = await startFakeGcp();
      return { fake, provider: (secret) => createGcpProvider(fake.providerConfig(secret)), writeOperation: 'AddSecretVersion' };
    },
  ],
  [
    'azure',
    async () => {
      const fake = await startFakeAzure();
      return {
        fake,
        provider: (secret) => createAzureProvider(fake.providerConfig(secret), { credential: new RecordingCredential() }),
        writeOperation: 'setSecret',
      };
    },
  ],
];

const login = (hours: number) => makeFakeCredentials({ expiresAt: Date.now() + hours * HOUR });

describe.each(stores)('resolveConflict on the %s store', (_name, start) => {
  let store: Store;
  let counter = 0;
  const open: Provider[] = [];

  beforeAll(async () => {
    store = await start();
  });
  afterEach(async () => {
    store.fake.faults.reset();
    await Promise.all(open.splice(0).map((p) => p.close?.()));
  });
  afterAll(async () => {
    await store.fake.close();
  });

  /**
   * A secret holding `values` oldest first, created a second apart (Key Vault keeps whole seconds, and
   * counts a version of the same second as the one read as written after it); returns its key, the
   * version ids, and a provider on it.
   */
  async function secretWith(...values: string[]) {
    const name = `resolve-${(counter += 1)}`;
    const key = store.fake.storeKey(name);
    const start = Date.now() - values.length * 1000;
    const ids = values.map((value, i) => {
      const version = store.fake.store.addVersion(key, value, { id: crypto.randomUUID().replace(/-/g, '') });
      (version as { createdAt: number }).createdAt = start + i * 1000;
      // GCP versions are numbers, Key Vault ones ids.
      return store.fake.provider === 'gcp' ? String(version.number) : version.id;
    });
    const provider = await store.provider(name);
    open.push(provider);
    return { key, ids, provider };
  }
  const latestValue = (key: string) => {
    const value = store.fake.store.latest(key)?.value;
    return typeof value === 'string' ? value : value === undefined ? undefined : Buffer.from(value).toString('utf8');
  };

  test('a fresher login buried below the latest is written on top again', async () => {
    const fresh = login(5);
    const { key, ids, provider } = await secretWith(login(1).json, fresh.json, login(3).json);

    const outcome = await resolveConflict(provider, ids[0], testContext());

    expect(latestValue(key)).toBe(fresh.json);
    expect(outcome.promoted).toBeDefined();
    expect(store.fake.store.get(key)?.versions).toHaveLength(4);
    expect(store.fake.faults.count(store.writeOperation)).toBe(1);
  });

  test('nothing is written when the latest is the freshest, or as fresh as any (a lease claim of the same login)', async () => {
    const top = login(5);
    const { key, ids, provider } = await secretWith(login(1).json, login(3).json, top.json);
    expect(await resolveConflict(provider, ids[0], testContext())).toEqual({ promoted: undefined });

    const same = JSON.parse(top.json) as Record<string, unknown>;
    store.fake.store.addVersion(key, JSON.stringify({ ...same, claudeCredsLease: { holder: 'x', until: 1 } }));
    expect(await resolveConflict(provider, ids[0], testContext())).toEqual({ promoted: undefined });
    expect(store.fake.faults.count(store.writeOperation)).toBe(0);
  });

  test('versions from before the one read are not re-decided on', async () => {
    const { key, ids, provider } = await secretWith(login(9).json, login(1).json, login(2).json);

    await resolveConflict(provider, ids[1], testContext());

    expect(store.fake.store.get(key)?.versions).toHaveLength(3);
  });

  test('a latest version that is not a login is left for the read path to report', async () => {
    const { key, ids, provider } = await secretWith(login(1).json, login(5).json, '{"not":"credentials"}');

    expect(await resolveConflict(provider, ids[0], testContext())).toEqual({ promoted: undefined });
    expect(latestValue(key)).toBe('{"not":"credentials"}');
  });

  test('another writer landing during the re-write makes it re-decide over everything since the read', async () => {
    const fresh = login(5);
    const fresher = login(7);
    const { key, ids, provider } = await secretWith(login(1).json, fresh.json, login(3).json);
    store.fake.faults.beforeNextWrite(() => void store.fake.store.addVersion(key, fresher.json, { id: crypto.randomUUID().replace(/-/g, '') }));

    await resolveConflict(provider, ids[0], testContext());

    expect(latestValue(key)).toBe(fresher.json);
  });

  test('without the permission to read the versions it decides on the latest alone, and says so', async () => {
    const { key, ids, provider } = await secretWith(login(1).json, login(5).json, login(3).json);
    const latest = latestValue(key);
    store.fake.faults.failNext(5, 'denied', store.fake.provider === 'gcp' ? 'AccessSecretVersion' : 'getSecretVersions');
    const warnings: string[] = [];
    const context = testContext();
    const logger = Object.assign(Object.create(context.logger) as typeof context.logger, {
      warn: (_fields: unknown, message: string) => void warnings.push(message),
    });

    expect(await resolveConflict(provider, ids[0], { ...context, logger })).toEqual({ promoted: undefined });
    expect(latestValue(key)).toBe(latest);
    expect(warnings).toContain('cannot read the versions written since ours; deciding on the latest version only');
  });

  test('a store failing for now while listing is retried under the shared policy', async () => {
    const fresh = login(5);
    const { key, ids, provider } = await secretWith(login(1).json, fresh.json, login(3).json);
    store.fake.faults.failNext(1, 'unavailable', store.fake.provider === 'gcp' ? 'AccessSecretVersion' : 'getSecretVersions');

    await resolveConflict(provider, ids[0], testContext());

    expect(latestValue(key)).toBe(fresh.json);
  });
});

describe('resolveConflict on a compare-and-swap store', () => {
  let aws: RunningFakeAws;
  beforeAll(async () => {
    Object.assign(process.env, FAKE_AWS_ENV);
    aws = await startFakeAws();
  });
  afterAll(async () => {
    await aws.close();
  });

  test('does nothing: a write that lost never landed there', async () => {
    aws.store.addVersion('cas', login(5).json);
    aws.store.addVersion('cas', login(1).json);
    const provider = await createAwsProvider(aws.providerConfig('cas'));
    const before = aws.requests.length;

    expect(await resolveConflict(provider, undefined, testContext())).toEqual({ promoted: undefined });
    expect(aws.requests.length).toBe(before);
    await provider.close?.();
  });
});
