import { beforeAll, describe, expect, test } from 'vitest';
import { ConflictError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import type { RunningFakeVault } from '../../fakes/vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, caught, expectNoLeak, providerFor, seeded, uniqueName, useVaultFake } from './support.js';

const vaultFake = useVaultFake();
let fake: RunningFakeVault;
beforeAll(() => {
  fake = vaultFake();
});

describe('compare-and-swap writes', () => {
  test('a write with the version read adds the next version and keeps the other fields', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), JSON.stringify({ credentials: creds.json, owner: 'team-a' }));
    const provider = await providerFor(name);
    const next = makeFakeCredentials();

    const outcome = await provider.write({ payload: next.json, expectedVersion: '1' });

    expect(outcome).toEqual({ version: '2' });
    expect(await provider.read()).toEqual({ payload: next.json, version: '2' });
    expect(fake.dataOf(name)).toEqual({ credentials: next.json, owner: 'team-a' });
    expect(fake.faults.calls).toEqual(['kv-read', 'kv-write', 'kv-read']);
  });

  test('the whole-document shape is written back in that shape', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), creds.json);
    const provider = await providerFor(name);
    const next = makeFakeCredentials();

    await provider.write({ payload: next.json, expectedVersion: '1' });

    expect(fake.dataOf(name)).toEqual(JSON.parse(next.json));
    expect((await provider.read()).payload).toBe(next.json);
  });

  test('another writer between our check and our write: ConflictError, and their version stays', async () => {
    const { name, provider, creds } = await seeded();
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.beforeNextWrite(() => void fake.putField(name, theirs.json));

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: '1' }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/check-and-set on version 1/);
    expect(fake.store.latest(fake.storeKey(name))?.number).toBe(2);
    expect(fake.dataOf(name)).toEqual({ credentials: theirs.json });
    expectNoLeak(error, [creds, theirs, mine]);
  });

  test('a stale expectedVersion is refused before anything is written', async () => {
    const { name, provider, creds } = await seeded();
    const newer = makeFakeCredentials();
    fake.putField(name, newer.json);
    const mine = makeFakeCredentials();

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: '1' }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('version 2');
    expect(fake.faults.calls).toEqual(['kv-read']);
    expect(fake.dataOf(name)).toEqual({ credentials: newer.json });
    expectNoLeak(error, [creds, newer, mine]);
  });

  test('creates a missing secret with cas 0', async () => {
    const name = uniqueName();
    const provider = await providerFor(name);
    const creds = makeFakeCredentials();

    const outcome = await provider.write({ payload: creds.json, expectedVersion: undefined });

    expect(outcome).toEqual({ version: '1' });
    expect(fake.dataOf(name)).toEqual({ credentials: creds.json });
    expect(await provider.read()).toEqual({ payload: creds.json, version: '1' });
  });

  test('a create that loses to another writer (cas 0 refused) is a ConflictError and keeps their value', async () => {
    const name = uniqueName();
    const provider = await providerFor(name);
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.beforeNextWrite(() => void fake.putField(name, theirs.json));

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: undefined }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/check-and-set on version 0/);
    expect(fake.dataOf(name)).toEqual({ credentials: theirs.json });
    expectNoLeak(error, [theirs, mine]);
  });

  test('a write whose first attempt landed (answer lost) is answered with that version, not a conflict', async () => {
    const { name, provider } = await seeded();
    const next = makeFakeCredentials();
    fake.putField(name, next.json); // what the first attempt left

    const outcome = await provider.write({ payload: next.json, expectedVersion: '1' });

    expect(outcome).toEqual({ version: '2' });
    expect(fake.faults.calls).toEqual(['kv-read']);
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(2);
  });

  test('a secret whose latest version was deleted is written over as a missing one', async () => {
    const { name, provider } = await seeded();
    fake.deleteLatest(name);
    const next = makeFakeCredentials();

    const outcome = await provider.write({ payload: next.json, expectedVersion: undefined });

    expect(outcome).toEqual({ version: '2' });
    expect((await provider.read()).payload).toBe(next.json);
  });

  test('a write dropped on the wire is retried through withRetry and lands once', async () => {
    const { name, provider } = await seeded();
    const next = makeFakeCredentials();
    fake.faults.failNext(1, 'reset', 'kv-write');

    const outcome = await withRetry('push', (a) => provider.write({ payload: next.json, expectedVersion: '1' }, a), FAST);

    expect(outcome).toEqual({ version: '2' });
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(2);
  });
});
