import { beforeAll, describe, expect, test } from 'vitest';
import { get } from 'node:https';
import { ConfigError, DependencyError } from '../../../src/core/errors.js';
import { createAzureProvider, parseAzureSecretRef } from '../../../src/providers/azure/index.js';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { SECRET, caught, expectNoSecrets, provider, seed, useAzureFake } from './support.js';

const azureFake = useAzureFake();
let fake: RunningFakeAzure;
beforeAll(() => {
  fake = azureFake();
});

describe('azure provider: TLS trust and set-up', () => {
  test('trusts the self-signed certificate only through --ca-file, for that client only', async () => {
    const creds = makeFakeCredentials();
    seed(creds.json);
    const trusted = (await provider()).provider;
    await expect(trusted.read()).resolves.toMatchObject({ payload: creds.json });
    const { provider: untrusted, credential } = await provider({ caFile: undefined });

    const error = await caught(untrusted.read());

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(error.message).toContain('--ca-file');
    expect(credential.calls).toEqual([]);
    expectNoSecrets(error, creds, credential.token);
    // Nothing process-wide changed: a plain HTTPS request still refuses the certificate.
    const plain = await new Promise<string>((resolve) => {
      get(`${fake.ipVaultUrl}/`, () => resolve('connected')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(plain).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test('an unreadable --ca-file is a ConfigError naming the file', async () => {
    const missing = `${fake.caFile}.missing`;
    const error = await caught(provider({ caFile: missing }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(missing);
  });

  test.each([
    { pkg: '@azure/keyvault-secrets', deps: { loadKeyVault: () => Promise.reject(new Error("Cannot find package '@azure/keyvault-secrets'")) } },
    { pkg: '@azure/identity', deps: { loadIdentity: () => Promise.reject(new Error("Cannot find package '@azure/identity'")) } },
  ])('a failed load of $pkg is a DependencyError naming the package', async ({ pkg, deps }) => {
    const error = await caught(createAzureProvider(fake.providerConfig(SECRET), deps));
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.message).toContain(`npm package ${pkg}`);
  });

  const vault = 'https://myvault.vault.azure.net';
  test.each([
    { secret: `${vault}/secrets/claude-creds`, vaultUrl: undefined, endpoint: undefined, expected: { vaultUrl: vault, name: 'claude-creds', version: undefined } },
    {
      secret: `${vault}/secrets/claude-creds/0123456789abcdef0123456789abcdef`,
      vaultUrl: undefined,
      endpoint: undefined,
      expected: { vaultUrl: vault, name: 'claude-creds', version: '0123456789abcdef0123456789abcdef' },
    },
    { secret: 'claude-creds', vaultUrl: `${vault}/`, endpoint: undefined, expected: { vaultUrl: vault, name: 'claude-creds', version: undefined } },
    { secret: `${vault}/secrets/claude-creds`, vaultUrl: vault, endpoint: undefined, expected: { vaultUrl: vault, name: 'claude-creds', version: undefined } },
    {
      secret: 'claude-creds',
      vaultUrl: vault,
      endpoint: 'https://myvault.privatelink.vaultcore.azure.net',
      expected: { vaultUrl: 'https://myvault.privatelink.vaultcore.azure.net', name: 'claude-creds', version: undefined },
    },
  ])('resolves --secret $secret (--vault-url $vaultUrl, --endpoint $endpoint)', ({ secret, vaultUrl, endpoint, expected }) => {
    expect(parseAzureSecretRef({ secret, vaultUrl, endpoint })).toEqual(expected);
  });

  test.each([
    { secret: undefined, vaultUrl: vault, message: /secret URL .* --vault-url/ },
    { secret: 'claude-creds', vaultUrl: undefined, message: /secret URL \(https:\/\/NAME\.vault\.azure\.net\/secrets\/SECRET\) or .* --vault-url/ },
    { secret: '~/.claude/.credentials.json', vaultUrl: vault, message: /looks like a file path.*Claude file path cannot be a secret name/ },
    { secret: 'claude_creds', vaultUrl: vault, message: /not a valid Key Vault secret name/ },
    { secret: `${vault}/keys/claude-creds`, vaultUrl: undefined, message: /not a Key Vault secret URL/ },
    { secret: 'http://myvault.vault.azure.net/secrets/claude-creds', vaultUrl: undefined, message: /must use https/ },
    { secret: `${vault}/secrets/claude-creds`, vaultUrl: 'https://other.vault.azure.net', message: /give the vault only once/ },
  ])('refuses --secret $secret with --vault-url $vaultUrl', ({ secret, vaultUrl, message }) => {
    let error: unknown;
    try {
      parseAzureSecretRef({ secret, vaultUrl, endpoint: undefined });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });
});
