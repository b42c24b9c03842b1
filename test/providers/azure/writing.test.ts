import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, ConflictError } from '../../../src/core/errors.js';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { SECRET, caught, expectNoSecrets, provider, randomVersionId, seed, useAzureFake } from './support.js';

const azureFake = useAzureFake();
let fake: RunningFakeAzure;
beforeAll(() => {
  fake = azureFake();
});

describe('azure provider: writes (detect-conflict)', () => {
  test('a write adds a new version that the next read returns, stored as application/json', async () => {
    const first = makeFakeCredentials();
    const original = seed(first.json);
    const { provider: azure } = await provider();
    const next = makeFakeCredentials();

    const outcome = await azure.write({ payload: next.json, expectedVersion: original });

    expect(outcome.version).toMatch(/^[0-9a-f]{32}$/);
    expect(outcome.version).not.toBe(original);
    expect(await azure.read()).toEqual({ payload: next.json, version: outcome.version });
    expect(fake.store.get(SECRET)?.versions.map((v) => v.id)).toEqual([original, outcome.version]);
    expect(fake.contentTypes.get(outcome.version ?? '')).toBe('application/json');
  });

  test('a write to a secret that does not exist yet creates it when no version was expected', async () => {
    const { provider: azure } = await provider();
    const creds = makeFakeCredentials();

    const outcome = await azure.write({ payload: creds.json, expectedVersion: undefined });

    expect(fake.store.latest(SECRET)?.id).toBe(outcome.version);
    expect(fake.store.latest(SECRET)?.value).toBe(creds.json);
  });

  test.each([
    { case: 'another version is now the latest', seedFirst: true, expected: 'stale-version-id' },
    { case: 'the secret appeared since it was read as missing', seedFirst: true, expected: undefined },
    { case: 'the secret was deleted since it was read', seedFirst: false, expected: 'f'.repeat(32) },
  ])('a stale expectedVersion ($case) is a ConflictError and writes nothing', async ({ seedFirst, expected }) => {
    if (seedFirst) seed(makeFakeCredentials().json);
    const versionsBefore = fake.store.get(SECRET)?.versions.length ?? 0;
    const { provider: azure, credential } = await provider();
    const creds = makeFakeCredentials();

    const error = await caught(azure.write({ payload: creds.json, expectedVersion: expected }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('nothing was written');
    expect(fake.store.get(SECRET)?.versions.length ?? 0).toBe(versionsBefore);
    expect(fake.faults.count('setSecret')).toBe(0);
    expectNoSecrets(error, creds, credential.token);
  });

  test('a writer that lands right after ours is a ConflictError: ours landed, theirs stays latest', async () => {
    const original = seed(makeFakeCredentials().json);
    const theirs = makeFakeCredentials();
    const ours = makeFakeCredentials();
    const { provider: azure, credential } = await provider();
    let theirVersion = '';
    fake.afterNextWrite(() => {
      theirVersion = fake.store.addVersion(SECRET, theirs.json, { id: randomVersionId() }).id;
    });

    const error = await caught(azure.write({ payload: ours.json, expectedVersion: original }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('re-read');
    const values = fake.store.get(SECRET)?.versions.map((v) => v.value);
    expect(values).toEqual([expect.any(String), ours.json, theirs.json]);
    expect(fake.store.latest(SECRET)?.id).toBe(theirVersion);
    expectNoSecrets(error, ours, theirs, credential.token);
  });

  test('a writer that lands between our check and our write is found in the version list: a ConflictError, ours on top of theirs', async () => {
    // Neither the check before nor the one after sees it (ours is the latest); only the list of the
    // versions created since the one read does.
    const original = seed(makeFakeCredentials().json);
    const theirs = makeFakeCredentials();
    const ours = makeFakeCredentials();
    const { provider: azure, credential } = await provider();
    let theirVersion = '';
    fake.faults.beforeNextWrite(() => {
      theirVersion = fake.store.addVersion(SECRET, theirs.json, { id: randomVersionId() }).id;
    });

    const error = await caught(azure.write({ payload: ours.json, expectedVersion: original }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain(`another writer added ${theirVersion}`);
    expect(fake.store.get(SECRET)?.versions.map((v) => v.value)).toEqual([expect.any(String), theirs.json, ours.json]);
    expect(fake.faults.count('getSecretVersions')).toBe(1);
    expectNoSecrets(error, ours, theirs, credential.token);
  });

  test('a write with no other writer lists the versions once and reports no conflict', async () => {
    const original = seed(makeFakeCredentials().json);
    const { provider: azure } = await provider();

    const outcome = await azure.write({ payload: makeFakeCredentials().json, expectedVersion: original });

    expect(outcome).toEqual({ version: fake.store.latest(SECRET)?.id, warnings: [] });
    expect(fake.faults.calls).toEqual(['challenge', 'getSecret', 'setSecret', 'getSecret', 'getSecretVersions']);
  });

  test('without the list permission the write lands and warns once, naming the role and the permission', async () => {
    const original = seed(makeFakeCredentials().json);
    const { provider: azure } = await provider();
    fake.faults.failNext(2, 'denied', 'getSecretVersions');

    const first = await azure.write({ payload: makeFakeCredentials().json, expectedVersion: original });
    const second = await azure.write({ payload: makeFakeCredentials().json, expectedVersion: first.version });

    expect(fake.store.latest(SECRET)?.id).toBe(second.version);
    expect(first.warnings).toHaveLength(1);
    expect(first.warnings?.[0]).toMatch(/could not check .* for a writer that landed just before ours .*"Key Vault Secrets User".*"list"/);
    expect(second.warnings).toEqual([]);
  });

  test('a secret URL that pins a version cannot be written', async () => {
    const pinned = seed(makeFakeCredentials().json);
    const { provider: azure } = await provider({ secret: `${fake.secretRef(SECRET)}/${pinned}`, vaultUrl: undefined });
    const creds = makeFakeCredentials();

    const error = await caught(azure.write({ payload: creds.json, expectedVersion: pinned }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('drop the version');
    expect(fake.faults.count('setSecret')).toBe(0);
    expectNoSecrets(error, creds);
  });
});
