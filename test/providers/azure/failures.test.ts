import { beforeAll, describe, expect, test } from 'vitest';
import { CredentialUnavailableError, type TokenCredential } from '@azure/identity';
import { PermissionDeniedError, StoreUnavailableError } from '../../../src/core/errors.js';
import { createAzureProvider } from '../../../src/providers/azure/index.js';
import { withRetry } from '../../../src/core/retry.js';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import type { FaultKind } from '../../fakes/faults.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, RecordingCredential, SECRET, caught, expectNoSecrets, provider, seed, useAzureFake } from './support.js';

const azureFake = useAzureFake();
let fake: RunningFakeAzure;
beforeAll(() => {
  fake = azureFake();
});

describe('azure provider: errors and retries', () => {
  test('429 twice then success goes through the shared retry policy; the SDK does not retry on its own', async () => {
    const creds = makeFakeCredentials();
    seed(creds.json);
    const { provider: azure } = await provider();
    fake.faults.failNext(2, 'throttle', 'getSecret');
    const retried: Error[] = [];

    const stored = await withRetry('read', (attempt) => azure.read({ signal: attempt.signal, timeoutMs: attempt.timeoutMs }), FAST, {
      onRetry: ({ error }) => retried.push(error),
    });

    expect(stored.payload).toBe(creds.json);
    expect(fake.faults.count('getSecret')).toBe(3);
    expect(retried).toHaveLength(2);
    for (const error of retried) {
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.message).toContain('429');
      expectNoSecrets(error, creds);
    }
  });

  test.each<{ kind: FaultKind; status: string }>([
    { kind: 'throttle', status: '429' },
    { kind: 'unavailable', status: '503' },
    { kind: 'internal', status: '500' },
    { kind: 'reset', status: 'ECONNRESET' },
  ])('$kind is a retryable StoreUnavailableError after exactly one request', async ({ kind, status }) => {
    const creds = makeFakeCredentials();
    seed(creds.json);
    const { provider: azure, credential } = await provider();
    await azure.read(); // complete the challenge so the count below is the faulted call only
    const before = fake.faults.count('getSecret');
    fake.faults.failNext(1, kind, 'getSecret');

    const error = await caught(azure.read());

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expect(error.message).toContain(status);
    expect(fake.faults.count('getSecret') - before).toBe(1);
    expectNoSecrets(error, creds, credential.token);
  });

  test.each([
    { action: 'read', role: 'Key Vault Secrets User', permission: '"get"' },
    { action: 'write', role: 'Key Vault Secrets Officer', permission: '"set"' },
  ] as const)('403 on $action is a PermissionDeniedError at once, naming $role', async ({ action, role, permission }) => {
    const version = seed(makeFakeCredentials().json);
    const creds = makeFakeCredentials();
    const { provider: azure, credential } = await provider();
    await azure.read();
    fake.faults.failNext(1, 'denied', action === 'read' ? 'getSecret' : 'setSecret');
    const calls = fake.faults.calls.length;

    const error = await caught(
      withRetry(
        action,
        (attempt): Promise<unknown> =>
          action === 'read'
            ? azure.read({ signal: attempt.signal })
            : azure.write({ payload: creds.json, expectedVersion: version }, { signal: attempt.signal }),
        FAST,
      ),
    );

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain(role);
    expect(error.message).toContain(permission);
    expect(error.message).toContain('Forbidden');
    // One attempt only: the read, or the pre-write check plus the refused write.
    expect(fake.faults.calls.length - calls).toBe(action === 'read' ? 1 : 2);
    expectNoSecrets(error, creds, credential.token);
  });

  test('a token the vault rejects after the challenge is a PermissionDeniedError explaining how the identity is found', async () => {
    seed(makeFakeCredentials().json);
    const credential = new RecordingCredential();
    fake.rejectedTokens.add(credential.token);
    const azure = await createAzureProvider(fake.providerConfig(SECRET), { credential });

    const error = await caught(azure.read());

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain('401');
    expect(error.message).toContain('AZURE_FEDERATED_TOKEN_FILE');
    expectNoSecrets(error, credential.token);
  });

  test('a credential that finds no identity is a PermissionDeniedError naming the ways DefaultAzureCredential finds one', async () => {
    seed(makeFakeCredentials().json);
    const credential: TokenCredential = {
      getToken: () => Promise.reject(new CredentialUnavailableError('ManagedIdentityCredential: no managed identity endpoint found.')),
    };
    const azure = await createAzureProvider(fake.providerConfig(SECRET), { credential });

    const error = await caught(azure.read());

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain('CredentialUnavailableError');
    for (const hint of ['AZURE_CLIENT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'managed identity', 'AZURE_CLIENT_SECRET']) {
      expect(error.message).toContain(hint);
    }
  });

  test('an aborted call is a retryable StoreUnavailableError', async () => {
    seed(makeFakeCredentials().json);
    const { provider: azure } = await provider();
    await azure.read();
    fake.faults.delay(2_000);

    const error = await caught(azure.read({ signal: AbortSignal.timeout(50) }));

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toContain('aborted');
  });
});
