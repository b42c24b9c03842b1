import { beforeAll, describe, expect, test } from 'vitest';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { SECRET, provider, seed, useAzureFake } from './support.js';

const azureFake = useAzureFake();
let fake: RunningFakeAzure;
beforeAll(() => {
  fake = azureFake();
});

const logins = (count: number): string[] => Array.from({ length: count }, () => makeFakeCredentials().json);
/** Key Vault keeps whole seconds: versions a second apart so their order is known. */
function seedSpaced(values: readonly string[]): string[] {
  const start = Date.now() - values.length * 1000;
  return values.map((value, i) => {
    const id = seed(value);
    const version = fake.store.get(SECRET)?.versions.at(-1);
    if (version) (version as { createdAt: number }).createdAt = start + i * 1000;
    return id;
  });
}

describe('azure provider: the versions written since one (readSince)', () => {
  test('returns the versions created after the one given, oldest first, with their values, the latest last', async () => {
    const values = logins(5);
    const ids = seedSpaced(values);
    const { provider: azure } = await provider();

    const since = await azure.readSince?.(ids[1]);

    expect(since).toEqual([
      { payload: values[2], version: ids[2] },
      { payload: values[3], version: ids[3] },
      { payload: values[4], version: ids[4] },
    ]);
  });

  test('pages through a long list (25 a page, ordered by id) and keeps to the limit', async () => {
    const values = logins(60);
    const ids = seedSpaced(values);
    const { provider: azure } = await provider();

    const since = await azure.readSince?.(ids[0], { limit: 3 });

    expect(since?.map((s) => s.version)).toEqual(ids.slice(-3));
    // Three list pages, then the two older versions and the latest.
    expect(fake.faults.count('getSecretVersions')).toBe(3);
  });

  test('nothing newer, or no secret at all, is an empty list', async () => {
    const { provider: azure } = await provider();
    expect(await azure.readSince?.(undefined)).toEqual([]);
    const [only] = seedSpaced(logins(1));
    expect(await azure.readSince?.(only)).toEqual([]);
  });
});
