import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { MAX_DESTROYED_PER_WRITE } from '../../../src/providers/gcp/prune.js';
import type { RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { CALL, failure, freshName, gcp, seed, useGcpFake } from './support.js';

const gcpFake = useGcpFake();
let fake: RunningFakeGcp;
beforeAll(() => {
  fake = gcpFake();
});

const logins = (count: number): string[] => Array.from({ length: count }, () => makeFakeCredentials().json);
const states = (name: string) => fake.versionStates(name);

describe('gcp provider: pruning old versions after a write', () => {
  test('by default the newest 10 are kept and the older ones destroyed', async () => {
    const name = freshName();
    seed(name, ...logins(12));
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '12' }, CALL);

    expect(outcome).toEqual({ version: '13', warnings: [] });
    expect(states(name)).toEqual([...Array(3).fill('DESTROYED'), ...Array(10).fill('ENABLED')]);
  });

  test('--gcp-keep-versions 2 keeps two', async () => {
    const name = freshName();
    seed(name, ...logins(4));
    const provider = await gcp(name, { gcpKeepVersions: 2 });

    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '4' }, CALL);

    expect(states(name)).toEqual(['DESTROYED', 'DESTROYED', 'DESTROYED', 'ENABLED', 'ENABLED']);
  });

  test('off keeps every version and makes no extra call', async () => {
    const name = freshName();
    seed(name, ...logins(12));
    const provider = await gcp(name, { gcpKeepVersions: 'off' });

    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '12' }, CALL);

    expect(states(name)).toEqual(Array(13).fill('ENABLED'));
    expect(fake.faults.calls).toEqual(['AccessSecretVersion', 'AddSecretVersion', 'AccessSecretVersion']);
  });

  test('a disabled old version is destroyed too; versions already destroyed are not listed again', async () => {
    const name = freshName();
    seed(name, ...logins(4));
    fake.disableVersion(name, 1);
    const provider = await gcp(name, { gcpKeepVersions: 2 });

    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '4' }, CALL);
    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '5' }, CALL);

    expect(states(name)).toEqual(['DESTROYED', 'DESTROYED', 'DESTROYED', 'DESTROYED', 'ENABLED', 'ENABLED']);
    // The second write destroyed one version: the three destroyed before were not asked for again.
    expect(fake.faults.count('DestroySecretVersion')).toBe(4);
  });

  test('with delayed destruction on the secret, versions already scheduled are not destroyed again', async () => {
    const name = freshName();
    seed(name, ...logins(4));
    fake.delayDestruction(true);
    try {
      const provider = await gcp(name, { gcpKeepVersions: 2 });
      await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '4' }, CALL);
      await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '5' }, CALL);

      // Disabled until the TTL ends: recoverable meanwhile.
      expect(states(name)).toEqual(['DISABLED', 'DISABLED', 'DISABLED', 'DISABLED', 'ENABLED', 'ENABLED']);
      expect(fake.faults.count('DestroySecretVersion')).toBe(4);
    } finally {
      fake.delayDestruction(false);
    }
  });

  test(`a backlog is worked off ${MAX_DESTROYED_PER_WRITE} versions per write`, async () => {
    const name = freshName();
    seed(name, ...logins(60));
    const provider = await gcp(name);

    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '60' }, CALL);
    expect(states(name).filter((s) => s === 'DESTROYED')).toHaveLength(MAX_DESTROYED_PER_WRITE);
    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '61' }, CALL);
    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '62' }, CALL);

    expect(states(name)).toEqual([...Array(53).fill('DESTROYED'), ...Array(10).fill('ENABLED')]);
  });

  test.each(['ListSecretVersions', 'DestroySecretVersion'])(
    'without permission for %s the write lands and warns once, naming the role and the permissions',
    async (operation) => {
      const name = freshName();
      seed(name, ...logins(11));
      fake.faults.failNext(100, 'denied', operation);
      const provider = await gcp(name);

      const first = await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '11' }, CALL);
      const second = await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '12' }, CALL);

      expect(first.version).toBe('12');
      expect(first.warnings).toHaveLength(1);
      expect(first.warnings?.[0]).toMatch(/roles\/secretmanager\.secretVersionManager .*secretmanager\.versions\.list and secretmanager\.versions\.destroy/);
      expect(first.warnings?.[0]).toMatch(/--gcp-keep-versions off/);
      expect(second).toEqual({ version: '13', warnings: [] });
      expect(fake.store.latest(fake.storeKey(name))?.number).toBe(13);
      expect(states(name).filter((s) => s === 'DESTROYED')).toHaveLength(0);
    },
  );

  test('a store failing for now while pruning never fails the write', async () => {
    const name = freshName();
    seed(name, ...logins(11));
    fake.faults.failNext(1, 'unavailable', 'ListSecretVersions');
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '11' }, CALL);

    expect(outcome.version).toBe('12');
    expect(outcome.warnings?.[0]).toMatch(/could not remove old versions .* for now .*the next write tries again/);
    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '12' }, CALL);
    expect(states(name).filter((s) => s === 'DESTROYED')).toHaveLength(3);
  });

  test.each([0, -1, 1.5, 1001])('--gcp-keep-versions %s is a ConfigError', async (keep) => {
    const error = await failure(gcp(freshName(), { gcpKeepVersions: keep }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/--gcp-keep-versions .*whole number from 1 to 1000, or off/);
  });
});

describe('gcp provider: the versions written since one (readSince)', () => {
  test('returns the versions after the one given, oldest first, with their payloads', async () => {
    const name = freshName();
    const values = logins(5);
    seed(name, ...values);
    const provider = await gcp(name);

    const since = await provider.readSince?.('2', CALL);

    expect(since?.map((s) => [s.version, Buffer.from(s.payload).toString('utf8')])).toEqual([
      ['3', values[2]],
      ['4', values[3]],
      ['5', values[4]],
    ]);
  });

  test('leaves out versions that cannot be read (disabled, destroyed) and keeps to the limit', async () => {
    const name = freshName();
    seed(name, ...logins(6));
    fake.disableVersion(name, 5);
    const provider = await gcp(name);

    expect((await provider.readSince?.('2', CALL))?.map((s) => s.version)).toEqual(['3', '4', '6']);
    expect((await provider.readSince?.(undefined, { ...CALL, limit: 3 }))?.map((s) => s.version)).toEqual(['4', '6']);
  });

  test('nothing newer, or no secret at all, is an empty list', async () => {
    const name = freshName();
    seed(name, ...logins(2));
    expect(await (await gcp(name)).readSince?.('2', CALL)).toEqual([]);
    expect(await (await gcp(freshName())).readSince?.(undefined, CALL)).toEqual([]);
  });
});
