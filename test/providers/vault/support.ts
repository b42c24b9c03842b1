import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import type { RetryPolicy } from '../../../src/core/retry.js';
import { createVaultProvider } from '../../../src/providers/vault/index.js';
import { startFakeVault, type FakeVaultOptions, type RunningFakeVault } from '../../fakes/vault.js';
import { makeFakeCredentials, type FakeCredentials } from '../../support/fake-credentials.js';
import { assertNoLeaks } from '../../support/leak-check.js';

/** What the vault provider tests share: one fake per test file (with both logins), helpers. */

export const FAST: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };
export const JWT = `eyJhbGciOiJSUzI1NiJ9.FAKE-K8S-SA-${'a1b2c3d4'.repeat(6)}.c2lnbmF0dXJlLWZha2U`;
export const ROLE_ID = 'role-id-FAKE-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
export const SECRET_ID = 'secret-id-FAKE-9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4';

let fake: RunningFakeVault | undefined;
const providers: Provider[] = [];
const fakes: RunningFakeVault[] = [];
let counter = 0;
let dir = '';
let jwtFile = '';

/** Starts the fake before the file's tests (and stops it after); returns a getter for it. */
export function useVaultFake(): () => RunningFakeVault {
  beforeAll(async () => {
    fake = await startFakeVault({
      kubernetes: { role: 'claude-creds', jwt: JWT },
      approle: { roleId: ROLE_ID, secretId: SECRET_ID },
    });
    dir = mkdtempSync(join(tmpdir(), 'claude-creds-vault-test-'));
    jwtFile = join(dir, 'token');
    writeFileSync(jwtFile, `${JWT}\n`);
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    running().faults.reset();
    running().sealed = false;
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close?.()));
    await Promise.all(fakes.splice(0).map((f) => f.close()));
  });
  return running;
}

function running(): RunningFakeVault {
  if (fake === undefined) throw new Error('useVaultFake() has not started the fake yet');
  return fake;
}

/** The file holding the Kubernetes service account token the fake accepts. */
export const jwtPath = (): string => jwtFile;
/** A directory of the test file's own, removed after its tests. */
export const workDir = (): string => dir;

/** Every secret value a message must never hold. */
export function vaultSecrets(...extra: RunningFakeVault[]): string[] {
  return [running(), ...extra].flatMap((f) => [f.rootToken, ...f.loginTokens]).concat(JWT, ROLE_ID, SECRET_ID);
}

export function uniqueName(): string {
  counter += 1;
  return `claude/creds-${counter}`;
}

export async function extraFake(options: FakeVaultOptions): Promise<RunningFakeVault> {
  const started = await startFakeVault(options);
  fakes.push(started);
  return started;
}

export async function providerFor(secretName: string, overrides: Partial<ProviderConfig> = {}, on: RunningFakeVault = running()): Promise<Provider> {
  const base = on.providerConfig(secretName);
  const provider = await createVaultProvider({ ...base, ...overrides, env: { ...base.env, ...overrides.env } });
  providers.push(provider);
  return provider;
}

/** Environment for a login method instead of VAULT_TOKEN. */
export function loginEnv(method: 'kubernetes' | 'approle'): Record<string, string | undefined> {
  return method === 'kubernetes'
    ? { VAULT_TOKEN: undefined, VAULT_K8S_ROLE: 'claude-creds', VAULT_K8S_TOKEN_PATH: jwtFile }
    : { VAULT_TOKEN: undefined, VAULT_ROLE_ID: ROLE_ID, VAULT_SECRET_ID: SECRET_ID };
}

/** A secret holding `creds` in the field `credentials`, and a provider pointed at it. */
export async function seeded(creds: FakeCredentials = makeFakeCredentials()) {
  const name = uniqueName();
  const version = running().putField(name, creds.json);
  return { name, version, creds, provider: await providerFor(name) };
}

export async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection');
}

/** No credentials token, Vault token, JWT, role_id or secret_id in the message or stack. */
export function expectNoLeak(error: Error, creds: FakeCredentials[] = [], ...others: RunningFakeVault[]): void {
  const text = `${error.message}\n${String(error.stack)}`;
  assertNoLeaks(error.message, text, [...creds.flatMap((c) => c.tokens), ...vaultSecrets(...others)]);
}
