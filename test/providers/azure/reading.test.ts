import { beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../../src/core/credentials.js';
import { ConfigError, NotFoundError } from '../../../src/core/errors.js';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { SECRET, caught, expectNoSecrets, provider, seed, useAzureFake } from './support.js';

const azureFake = useAzureFake();
let fake: RunningFakeAzure;
beforeAll(() => {
  fake = azureFake();
});

describe('azure provider: reads', () => {
  test('reads the latest version of the secret named with --vault-url, as stored', async () => {
    const creds = makeFakeCredentials();
    seed(makeFakeCredentials().json);
    const latest = seed(creds.json);
    const { provider: azure } = await provider();

    const stored = await azure.read();

    expect(stored).toEqual({ payload: creds.json, version: latest });
    expect(azure.location).toBe(`${fake.vaultUrl}/secrets/${SECRET}`);
    expect(azure.writes).toBe('detect-conflict');
  });

  test('returns a base64 payload unchanged, and the core accepts it', async () => {
    const creds = makeFakeCredentials();
    seed(creds.base64);
    const { provider: azure } = await provider();

    const stored = await azure.read();

    expect(stored.payload).toBe(creds.base64);
    const parsed = parseCredentials(stored.payload);
    expect(parsed.encoding).toBe('base64');
    expect(parsed.oauth.accessToken).toBe(creds.accessToken);
  });

  test('reads a version pinned in the secret URL, not the latest', async () => {
    const old = makeFakeCredentials();
    const pinned = seed(old.json);
    seed(makeFakeCredentials().json);
    const { provider: azure } = await provider({ secret: `${fake.secretRef(SECRET)}/${pinned}`, vaultUrl: undefined });

    const stored = await azure.read();

    expect(stored).toEqual({ payload: old.json, version: pinned });
    expect(azure.location).toBe(`${fake.vaultUrl}/secrets/${SECRET}/${pinned}`);
  });

  test('authenticates through the 401 challenge: one bare request, then the same call with the token for the vault resource', async () => {
    seed(makeFakeCredentials().json);
    const { provider: azure, credential } = await provider();
    const before = fake.requests.length;

    await azure.read();
    await azure.read();

    const seen = fake.requests.slice(before);
    expect(seen.map((r) => [r.operation, r.status, r.bearer])).toEqual([
      ['challenge', 401, undefined],
      ['getSecret', 200, credential.token],
      // The challenge is answered once per client; later calls carry the cached token at once.
      ['getSecret', 200, credential.token],
    ]);
    expect(seen.every((r) => r.host === new URL(fake.vaultUrl).host)).toBe(true);
    expect(credential.calls[0]).toEqual({ scopes: ['https://vault.localhost/.default'], tenantId: fake.tenantId });
  });

  test('keeps challenge-resource verification on: a vault whose challenge names another domain gets no token', async () => {
    seed(makeFakeCredentials().json);
    const { provider: azure, credential } = await provider({ vaultUrl: fake.ipVaultUrl });
    const before = fake.requests.length;

    const error = await caught(azure.read());

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(fake.ipVaultUrl);
    expect(error.message).toContain('--vault-url');
    expect(credential.calls).toEqual([]);
    expect(fake.requests.slice(before).map((r) => r.operation)).toEqual(['challenge']);
    expectNoSecrets(error, credential.token);
  });

  test('a missing secret is a NotFoundError naming the vault and the secret', async () => {
    const { provider: azure, credential } = await provider();

    const error = await caught(azure.read());

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`'${SECRET}'`);
    expect(error.message).toContain(fake.vaultUrl);
    expect(error.message).toContain('--vault-name myvault');
    expectNoSecrets(error, credential.token);
  });
});
