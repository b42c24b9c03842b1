import { beforeAll, describe, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, PermissionDeniedError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import type { RunningFakeVault } from '../../fakes/vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, JWT, caught, expectNoLeak, extraFake, jwtPath, loginEnv, providerFor, seeded, useVaultFake, workDir } from './support.js';

const vaultFake = useVaultFake();
let fake: RunningFakeVault;
beforeAll(() => {
  fake = vaultFake();
});

describe('authentication', () => {
  test('VAULT_TOKEN is sent as X-Vault-Token', async () => {
    const { provider } = await seeded();
    await provider.read();
    expect(fake.requests.at(-1)).toMatchObject({ operation: 'kv-read', tokenKind: 'root' });
  });

  test.each(['kubernetes', 'approle'] as const)('%s login: one login, its token used for every call', async (method) => {
    const { name, creds } = await seeded();
    const provider = await providerFor(name, { env: loginEnv(method) });
    const logins = fake.loginTokens.length;
    const seen = fake.requests.length;

    expect((await provider.read()).payload).toBe(creds.json);
    await provider.write({ payload: makeFakeCredentials().json, expectedVersion: '1' });

    expect(fake.faults.calls).toEqual([`${method}-login`, 'kv-read', 'kv-read', 'kv-write']);
    expect(fake.loginTokens.length).toBe(logins + 1);
    expect(fake.requests.slice(seen).filter((r) => r.operation.startsWith('kv-')).map((r) => r.tokenKind)).toEqual(['login', 'login', 'login']);
  });

  test('Kubernetes login reads the JWT from VAULT_K8S_TOKEN_PATH and the auth mount from VAULT_K8S_MOUNT', async () => {
    const other = await extraFake({ kubernetes: { role: 'r', jwt: JWT, mount: 'k8s-prod' } });
    other.putField('c', makeFakeCredentials().json);
    const provider = await providerFor('c', { env: { VAULT_TOKEN: undefined, VAULT_K8S_ROLE: 'r', VAULT_K8S_TOKEN_PATH: jwtPath(), VAULT_K8S_MOUNT: 'k8s-prod' } }, other);
    await provider.read();
    expect(other.requests[0]).toMatchObject({ operation: 'kubernetes-login', path: 'auth/k8s-prod/login' });
  });

  test('a login token that stopped working is replaced by one new login', async () => {
    const { name } = await seeded();
    const provider = await providerFor(name, { env: loginEnv('approle') });
    await provider.read();
    fake.revoke(fake.loginTokens.at(-1) as string);

    await provider.read();

    expect(fake.faults.calls).toEqual(['approle-login', 'kv-read', 'kv-read', 'approle-login', 'kv-read']);
  });

  test('a refused Kubernetes login is a PermissionDeniedError naming the method and role, never the JWT', async () => {
    const { name, creds } = await seeded();
    const wrong = join(workDir(), 'wrong-token');
    writeFileSync(wrong, `eyJhbGciOiJSUzI1NiJ9.FAKE-WRONG-${'9f8e7d6c'.repeat(6)}.c2ln`);
    const provider = await providerFor(name, { env: { ...loginEnv('kubernetes'), VAULT_K8S_TOKEN_PATH: wrong } });

    const error = await caught(withRetry('read', (a) => provider.read(a), FAST));

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toMatch(/Kubernetes login at auth\/kubernetes with role "claude-creds"/);
    expect(error.message).toContain('permission denied');
    expect(error.message).not.toContain('FAKE-WRONG');
    expect(fake.faults.calls).toEqual(['kubernetes-login']);
    expectNoLeak(error, [creds]);
  });

  test('a refused AppRole login is a PermissionDeniedError naming the method, never the secret_id', async () => {
    const { name, creds } = await seeded();
    const provider = await providerFor(name, { env: { ...loginEnv('approle'), VAULT_SECRET_ID: 'secret-id-FAKE-WRONG-00000000-1111-2222-3333' } });

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toMatch(/AppRole login at auth\/approle/);
    expect(error.message).toContain('invalid role or secret ID');
    expect(error.message).not.toContain('FAKE-WRONG');
    expectNoLeak(error, [creds]);
  });

  test('an unknown Kubernetes role is a PermissionDeniedError naming it', async () => {
    const { name } = await seeded();
    const provider = await providerFor(name, { env: { ...loginEnv('kubernetes'), VAULT_K8S_ROLE: 'nobody' } });
    const error = await caught(provider.read());
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain('role "nobody"');
    expectNoLeak(error);
  });

  test('a missing service account token file is a ConfigError naming the path', async () => {
    const { name } = await seeded();
    const missing = join(workDir(), 'no-such-token');
    const provider = await providerFor(name, { env: { ...loginEnv('kubernetes'), VAULT_K8S_TOKEN_PATH: missing } });
    const error = await caught(provider.read());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(missing);
    expect(fake.faults.calls).toEqual([]);
  });

  test('no credentials at all is a ConfigError naming the three methods', async () => {
    const error = await caught(providerFor('x', { env: { VAULT_TOKEN: undefined } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/VAULT_TOKEN.*VAULT_K8S_ROLE.*VAULT_ROLE_ID and VAULT_SECRET_ID/);
  });

  test('login failures for now (throttled, sealed) are retryable', async () => {
    const { name, creds } = await seeded();
    const provider = await providerFor(name, { env: loginEnv('kubernetes') });
    fake.faults.failNext(2, 'throttle', 'kubernetes-login');

    const stored = await withRetry('read', (a) => provider.read(a), FAST);

    expect(stored.payload).toBe(creds.json);
    expect(fake.faults.count('kubernetes-login')).toBe(3);
  });
});
