import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import type { RetryPolicy } from '../../../src/core/retry.js';
import { createAzureProvider, type AzureProviderDeps } from '../../../src/providers/azure/index.js';
import { startFakeAzure, type RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import type { FakeCredentials } from '../../support/fake-credentials.js';

/** What the azure provider tests share: one fake per test file, a recording credential, helpers. */

/** A credential standing in for DefaultAzureCredential in-process; records what the SDK asked for. */
export class RecordingCredential implements TokenCredential {
  readonly calls: Array<{ scopes: string[]; tenantId: string | undefined }> = [];
  constructor(readonly token = `fake-bearer-${Math.random().toString(36).slice(2)}`) {}
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.calls.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
    return { token: this.token, expiresOnTimestamp: Date.now() + 3600_000 };
  }
}

export const FAST: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };
export const SECRET = 'claude-credentials';

let fake: RunningFakeAzure | undefined;

/** Starts the fake before the file's tests (and stops it after); empties it after each test. */
export function useAzureFake(): () => RunningFakeAzure {
  beforeAll(async () => {
    fake = await startFakeAzure();
  });
  afterAll(async () => {
    await fake?.close();
  });
  afterEach(() => {
    const current = running();
    current.faults.reset();
    current.rejectedTokens.clear();
    for (const name of current.store.names()) current.store.delete(name);
  });
  return running;
}

function running(): RunningFakeAzure {
  if (fake === undefined) throw new Error('useAzureFake() has not started the fake yet');
  return fake;
}

export function randomVersionId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

export function seed(value: string, name = SECRET): string {
  return running().store.addVersion(running().storeKey(name), value, { id: randomVersionId() }).id;
}

export async function provider(
  overrides: Partial<ProviderConfig> = {},
  deps: AzureProviderDeps = {},
): Promise<{ provider: Provider; credential: RecordingCredential }> {
  const credential = new RecordingCredential();
  const created = await createAzureProvider({ ...running().providerConfig(SECRET), ...overrides }, { credential, ...deps });
  return { provider: created, credential };
}

export async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection');
}

export function expectNoSecrets(error: Error, ...values: Array<FakeCredentials | string>): void {
  const text = `${error.message} ${String(error.stack)}`;
  for (const value of values) {
    const tokens = typeof value === 'string' ? [value] : [...value.tokens, value.json, value.base64];
    for (const token of tokens) expect(text).not.toContain(token);
  }
}
