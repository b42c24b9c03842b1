import { beforeAll, describe, expect, test } from 'vitest';
import { chooseProvider } from '../../../src/core/config.js';
import { ConfigError } from '../../../src/core/errors.js';
import type { ProviderConfig } from '../../../src/core/provider.js';
import { parseVaultSecret } from '../../../src/providers/vault/index.js';
import type { RunningFakeVault } from '../../fakes/vault.js';
import { caught, providerFor, seeded, useVaultFake } from './support.js';

const vaultFake = useVaultFake();
let fake: RunningFakeVault;
beforeAll(() => {
  fake = vaultFake();
});

describe('configuration', () => {
  test.each<[string, Partial<ProviderConfig>, RegExp]>([
    ['no --secret', { secret: undefined }, /pass --secret/],
    ['a mount without a path', { secret: 'secret' }, /names a mount but no secret/],
    ['a URL as the secret', { secret: 'https://vault:8200/v1/secret/data/x' }, /is a URL/],
    ['an empty #field', { secret: 'secret/x#' }, /empty #field/],
    ['dot segments', { secret: 'secret/../x' }, /not a clean KV path/],
    ['no address', { env: { VAULT_ADDR: undefined } }, /set VAULT_ADDR/],
    ['an address that is not a URL', { endpoint: 'vault:8200' }, /--endpoint must be an http/],
  ])('%s is a ConfigError', async (_, overrides, message) => {
    const error = await caught(providerFor('x', overrides));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
  });

  test.each<[string, { mount: string; path: string; field: string | undefined }]>([
    ['secret/claude/credentials', { mount: 'secret', path: 'claude/credentials', field: undefined }],
    ['secret/data/claude/credentials', { mount: 'secret', path: 'claude/credentials', field: undefined }],
    ['team/kv/data/claude#creds', { mount: 'team/kv', path: 'claude', field: 'creds' }],
    ['secret/data/data/x', { mount: 'secret', path: 'data/x', field: undefined }],
    ['kv/claude', { mount: 'kv', path: 'claude', field: undefined }],
  ])('--secret %s', (secret, expected) => {
    expect(parseVaultSecret(secret)).toEqual(expected);
  });

  test('--endpoint overrides VAULT_ADDR; credentials in the address never reach the location', async () => {
    const { name, creds } = await seeded();
    const url = new URL(fake.url);
    url.username = 'user';
    url.password = 'pass-FAKE';
    const provider = await providerFor(name, { endpoint: url.href, env: { VAULT_ADDR: 'http://127.0.0.1:1' } });
    expect((await provider.read()).payload).toBe(creds.json);
    expect(provider.location).not.toContain('pass-FAKE');
  });

  test('chooseProvider infers vault from VAULT_ADDR and a KV path, and leaves the other inferences alone', () => {
    const env = { VAULT_ADDR: 'https://vault:8200' };
    expect(chooseProvider({ secret: 'secret/data/claude' }, env).config.name).toBe('vault');
    expect(chooseProvider({ secret: 'kv/claude#credentials' }, env).config.name).toBe('vault');
    expect(chooseProvider({ secret: '/mnt/claude.json' }, env).config.name).toBe('file');
    expect(chooseProvider({ secret: 'projects/p/secrets/s' }, env).config.name).toBe('gcp');
    expect(chooseProvider({ secret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x' }, env).config.name).toBe('aws');
    expect(() => chooseProvider({ secret: 'secret/claude' }, {})).toThrow(ConfigError);
  });
});
