import { describe, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, PermissionDeniedError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, ROLE_ID, SECRET_ID, caught, expectNoLeak, extraFake, loginEnv, providerFor, useVaultFake, workDir } from './support.js';

useVaultFake();

describe('namespaces and TLS', () => {
  test('VAULT_NAMESPACE is sent as X-Vault-Namespace on logins and KV calls', async () => {
    const ns = await extraFake({ namespace: 'team-a/claude', approle: { roleId: ROLE_ID, secretId: SECRET_ID } });
    const creds = makeFakeCredentials();
    ns.putField('c', creds.json);

    const provider = await providerFor('c', { env: loginEnv('approle') }, ns);
    expect((await provider.read()).payload).toBe(creds.json);
    expect(ns.requests.map((r) => [r.operation, r.namespace])).toEqual([
      ['approle-login', 'team-a/claude'],
      ['kv-read', 'team-a/claude'],
    ]);

    const without = await providerFor('c', { env: { VAULT_NAMESPACE: undefined } }, ns);
    const error = await caught(without.read());
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expectNoLeak(error, [creds], ns);
  });

  test('an HTTPS Vault is trusted through VAULT_CACERT, or --ca-file, and refused without', async () => {
    const tls = await extraFake({ tls: true });
    const creds = makeFakeCredentials();
    tls.putField('c', creds.json);
    expect(tls.url).toMatch(/^https:/);

    expect((await (await providerFor('c', {}, tls)).read()).payload).toBe(creds.json);
    const viaFlag = await providerFor('c', { caFile: tls.caFile, env: { VAULT_CACERT: undefined } }, tls);
    expect((await viaFlag.read()).payload).toBe(creds.json);

    const untrusted = await providerFor('c', { env: { VAULT_CACERT: undefined } }, tls);
    const error = await caught(withRetry('read', (a) => untrusted.read(a), FAST));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/TLS certificate is not trusted.*VAULT_CACERT or --ca-file/);
    expectNoLeak(error, [creds], tls);
  });

  test('an unreadable or non-PEM CA file is a ConfigError', async () => {
    const notPem = join(workDir(), 'not.pem');
    writeFileSync(notPem, 'hello');
    await expect(providerFor('x', { env: { VAULT_CACERT: join(workDir(), 'missing.pem') } })).rejects.toThrow(/cannot read VAULT_CACERT/);
    await expect(providerFor('x', { caFile: notPem })).rejects.toThrow(/--ca-file .* holds no PEM certificate/);
  });
});
