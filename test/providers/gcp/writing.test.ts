import { beforeAll, describe, expect, test } from 'vitest';
import CRC32C from 'crc-32/crc32c.js';
import { ConflictError } from '../../../src/core/errors.js';
import type { RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { CALL, expectNoSecrets, failure, freshName, gcp, seed, useGcpFake } from './support.js';

const gcpFake = useGcpFake();
let fake: RunningFakeGcp;
beforeAll(() => {
  fake = gcpFake();
});

describe('gcp provider: writing (detect-conflict)', () => {
  test('write then read: the version number increments and the store holds the payload', async () => {
    const name = freshName();
    const before = makeFakeCredentials();
    const after = makeFakeCredentials();
    seed(name, before.json);
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: after.json, expectedVersion: '1' }, CALL);
    const read = await provider.read(CALL);

    expect(outcome.version).toBe('2');
    expect(read.version).toBe('2');
    expect(Buffer.from(read.payload).toString('utf8')).toBe(after.json);
    expect(fake.store.latest(fake.storeKey(name))?.value).toBe(after.json);
    // The client sends the payload's checksum so the service can verify what it received.
    expect(fake.receivedCrcs.at(-1)).toBe(CRC32C.buf(Buffer.from(after.json)) >>> 0);
  });

  test('a stale expectedVersion is a ConflictError and nothing is added', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json, makeFakeCredentials().json);
    const mine = makeFakeCredentials();
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: mine.json, expectedVersion: '1' }, CALL));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/latest version is 2, expected 1; nothing was written/);
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(2);
    expect(fake.faults.count('AddSecretVersion')).toBe(0);
    expectNoSecrets(error, mine);
  });

  test('a writer that slips in between check and add is reported as ConflictError; our version landed after it', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.beforeNextWrite(() => {
      fake.store.addVersion(fake.storeKey(name), theirs.json);
    });
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: mine.json, expectedVersion: '1' }, CALL));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/another writer.*version 3, expected 2/);
    const versions = fake.store.get(fake.storeKey(name))?.versions ?? [];
    expect(versions.map((v) => v.value)).toEqual([expect.any(String), theirs.json, mine.json]);
    expect(fake.store.latest(fake.storeKey(name))?.number).toBe(3);
    expectNoSecrets(error, mine, theirs);
  });

  test('a writer that lands right after ours is a ConflictError: ours landed, theirs is the latest', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.afterNextWrite(() => {
      fake.store.addVersion(fake.storeKey(name), theirs.json);
    });
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: mine.json, expectedVersion: '1' }, CALL));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/another writer added version 3 .* right after ours \(2\)/);
    const versions = fake.store.get(fake.storeKey(name))?.versions ?? [];
    expect(versions.map((v) => v.value)).toEqual([expect.any(String), mine.json, theirs.json]);
    expectNoSecrets(error, mine, theirs);
  });

  test('a missing secret is created (automatic replication) and gets version 1', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: creds.json, expectedVersion: undefined }, CALL);

    expect(outcome.version).toBe('1');
    expect(fake.faults.calls).toEqual(['AccessSecretVersion', 'CreateSecret', 'AddSecretVersion', 'AccessSecretVersion']);
    expect(fake.store.latest(fake.storeKey(name))?.value).toBe(creds.json);
  });

  test('a secret that exists without versions gets its first version (ALREADY_EXISTS is fine)', async () => {
    const name = freshName();
    fake.store.create(fake.storeKey(name));
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }, CALL);

    expect(outcome.version).toBe('1');
    expect(fake.faults.count('CreateSecret')).toBe(1);
  });

  test('expecting no secret when one appeared meanwhile is a ConflictError', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }, CALL));

    expect(error).toBeInstanceOf(ConflictError);
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(1);
  });
});
