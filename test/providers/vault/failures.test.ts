import { beforeAll, describe, expect, test } from 'vitest';
import { PermissionDeniedError, StoreUnavailableError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import type { FaultKind } from '../../fakes/faults.js';
import type { RunningFakeVault } from '../../fakes/vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { assertNoLeaks } from '../../support/leak-check.js';
import { FAST, ROLE_ID, SECRET_ID, caught, expectNoLeak, extraFake, loginEnv, providerFor, seeded, useVaultFake } from './support.js';

const vaultFake = useVaultFake();
let fake: RunningFakeVault;
beforeAll(() => {
  fake = vaultFake();
});

describe('failures and the retry policy', () => {
  test('a sealed Vault is a retryable StoreUnavailableError that says so', async () => {
    const { provider, creds } = await seeded();
    fake.sealed = true;

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expect(error.message).toMatch(/Vault is sealed/);
    expectNoLeak(error, [creds]);
  });

  test('two throttled reads, then success, through withRetry', async () => {
    const { provider, creds } = await seeded();
    fake.faults.failNext(2, 'throttle', 'kv-read');
    const retried: Error[] = [];

    const stored = await withRetry('read', (a) => provider.read(a), FAST, { onRetry: ({ error }) => retried.push(error) });

    expect(stored.payload).toBe(creds.json);
    expect(fake.faults.count('kv-read')).toBe(3);
    expect(retried.map((e) => e.constructor)).toEqual([StoreUnavailableError, StoreUnavailableError]);
    for (const error of retried) expectNoLeak(error, [creds]);
  });

  test.each<FaultKind>(['reset', 'unavailable', 'internal', 'throttle'])('%s is a retryable StoreUnavailableError', async (kind) => {
    const { provider, creds } = await seeded();
    fake.faults.failNext(1, kind, 'kv-read');
    const error = await caught(provider.read());
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expectNoLeak(error, [creds]);

    fake.faults.failNext(1, kind, 'kv-read');
    await expect(withRetry('read', (a) => provider.read(a), FAST)).resolves.toMatchObject({ payload: creds.json });
  });

  test('permission denied on a read ends at once, naming the read capability and the path', async () => {
    const { name, creds } = await seeded();
    const token = fake.issueToken({ read: ['elsewhere/'] });
    const provider = await providerFor(name, { env: { VAULT_TOKEN: token } });

    const error = await caught(withRetry('read', (a) => provider.read(a), FAST));

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain(`"read" on secret/data/${name}`);
    expect(error.message).toContain('VAULT_TOKEN');
    expect(fake.faults.count('kv-read')).toBe(1);
    expectNoLeak(error, [creds]);
    assertNoLeaks('message', error.message, [token]);
  });

  test('permission denied on a write names create and update', async () => {
    const { name, creds } = await seeded();
    const token = fake.issueToken({ read: ['claude/'] });
    const provider = await providerFor(name, { env: { VAULT_TOKEN: token } });
    const next = makeFakeCredentials();

    const error = await caught(withRetry('write', (a) => provider.write({ payload: next.json, expectedVersion: '1' }, a), FAST));

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain(`"create" and "update" (and "read") on secret/data/${name}`);
    expect(fake.faults.count('kv-write')).toBe(1);
    expect(fake.store.latest(fake.storeKey(name))?.number).toBe(1);
    expectNoLeak(error, [creds, next]);
    assertNoLeaks('message', error.message, [token]);
  });

  test('a refused login token names the login method in the permission message', async () => {
    const scoped = await extraFake({ approle: { roleId: ROLE_ID, secretId: SECRET_ID }, loginGrants: { read: [] } });
    scoped.putField('c', makeFakeCredentials().json);
    const provider = await providerFor('c', { env: loginEnv('approle') }, scoped);

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain('the token from AppRole login (auth/approle)');
    expect(scoped.faults.calls).toEqual(['approle-login', 'kv-read']);
    expectNoLeak(error, [], scoped);
  });
});
