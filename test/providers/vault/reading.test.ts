import { beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../../src/core/credentials.js';
import { NotFoundError, StoreUnavailableError } from '../../../src/core/errors.js';
import type { RunningFakeVault } from '../../fakes/vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { caught, expectNoLeak, providerFor, seeded, uniqueName, useVaultFake } from './support.js';

const vaultFake = useVaultFake();
let fake: RunningFakeVault;
beforeAll(() => {
  fake = vaultFake();
});

describe('reading', () => {
  test('returns the credentials field and the KV version', async () => {
    const { provider, creds, version } = await seeded();

    const stored = await provider.read();

    expect(stored).toEqual({ payload: creds.json, version: String(version) });
    expect(provider.name).toBe('vault');
    expect(provider.writes).toBe('compare-and-swap');
    expect(fake.faults.calls).toEqual(['kv-read']);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', tokenKind: 'root' });
  });

  test('returns a base64 value as-is, which the core then parses', async () => {
    const creds = makeFakeCredentials();
    const { provider } = await seeded({ ...creds, json: creds.base64 });

    const stored = await provider.read();

    expect(stored.payload).toBe(creds.base64);
    expect(parseCredentials(stored.payload).oauth.refreshToken).toBe(creds.refreshToken);
  });

  test('a secret whose data is the credentials document itself is read as that document', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), creds.json);

    const stored = await (await providerFor(name)).read();

    expect(stored.payload).toBe(creds.json);
  });

  test('#field names another field; a missing one is a NotFoundError listing the fields, not their values', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), JSON.stringify({ claude: creds.json, other: 'unrelated-value-FAKE' }));

    expect((await (await providerFor(name, { secret: `secret/${name}#claude` })).read()).payload).toBe(creds.json);

    const error = await caught((await providerFor(name)).read());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain('no field "credentials"');
    expect(error.message).toContain('claude, other');
    expect(error.message).not.toContain('unrelated-value-FAKE');
    expectNoLeak(error, [creds]);
  });

  test('the explicit API form secret/data/<path> names the same secret', async () => {
    const { name, creds } = await seeded();
    const provider = await providerFor(name, { secret: `secret/data/${name}` });
    expect((await provider.read()).payload).toBe(creds.json);
    expect(provider.location).toBe(`${fake.url}/v1/secret/data/${name}`);
  });

  test('a missing secret is a NotFoundError naming the full path and VAULT_ADDR', async () => {
    const name = uniqueName();
    const error = await caught((await providerFor(name)).read());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`secret/data/${name}`);
    expect(error.message).toContain(fake.url);
    expect(fake.faults.count('kv-read')).toBe(1);
    expectNoLeak(error);
  });

  test('a deleted latest version is a NotFoundError that says so', async () => {
    const { name, provider } = await seeded();
    fake.deleteLatest(name);
    const error = await caught(provider.read());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toMatch(/latest version 1 is deleted/);
  });

  test('a read that outlives its time budget is aborted as a retryable StoreUnavailableError', async () => {
    const { provider, creds } = await seeded();
    fake.faults.delay(2_000);
    const started = Date.now();

    const error = await caught(provider.read({ timeoutMs: 100 }));

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expectNoLeak(error, [creds]);
  });
});
