import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:https';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CredentialUnavailableError } from '@azure/identity';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../../src/core/credentials.js';
import {
  ConfigError,
  ConflictError,
  DependencyError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
} from '../../../src/core/errors.js';
import { createAzureProvider, parseAzureSecretRef } from '../../../src/providers/azure/index.js';
import type { AzureProviderDeps } from '../../../src/providers/azure/index.js';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import { withRetry } from '../../../src/core/retry.js';
import type { RetryPolicy } from '../../../src/core/retry.js';
import { startFakeAzure } from '../../fakes/azure-key-vault.js';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import type { FaultKind } from '../../fakes/faults.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import type { FakeCredentials } from '../../support/fake-credentials.js';

/** A credential standing in for DefaultAzureCredential in-process; records what the SDK asked for. */
class RecordingCredential implements TokenCredential {
  readonly calls: Array<{ scopes: string[]; tenantId: string | undefined }> = [];
  constructor(readonly token = `fake-bearer-${Math.random().toString(36).slice(2)}`) {}
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.calls.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
    return { token: this.token, expiresOnTimestamp: Date.now() + 3600_000 };
  }
}

const FAST: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };
const SECRET = 'claude-credentials';

let fake: RunningFakeAzure;

beforeAll(async () => {
  fake = await startFakeAzure();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.faults.reset();
  fake.rejectedTokens.clear();
  for (const name of fake.store.names()) fake.store.delete(name);
});

function seed(value: string, name = SECRET): string {
  return fake.store.addVersion(fake.storeKey(name), value, { id: randomVersionId() }).id;
}

function randomVersionId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

async function provider(
  overrides: Partial<ProviderConfig> = {},
  deps: AzureProviderDeps = {},
): Promise<{ provider: Provider; credential: RecordingCredential }> {
  const credential = new RecordingCredential();
  const created = await createAzureProvider({ ...fake.providerConfig(SECRET), ...overrides }, { credential, ...deps });
  return { provider: created, credential };
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function expectNoSecrets(error: Error, ...values: Array<FakeCredentials | string>): void {
  const text = `${error.message} ${String(error.stack)}`;
  for (const value of values) {
    const tokens = typeof value === 'string' ? [value] : [...value.tokens, value.json, value.base64];
    for (const token of tokens) expect(text).not.toContain(token);
  }
}

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

describe('azure provider: writes (detect-conflict)', () => {
  test('a write adds a new version that the next read returns, stored as application/json', async () => {
    const first = makeFakeCredentials();
    const original = seed(first.json);
    const { provider: azure } = await provider();
    const next = makeFakeCredentials();

    const outcome = await azure.write({ payload: next.json, expectedVersion: original });

    expect(outcome.version).toMatch(/^[0-9a-f]{32}$/);
    expect(outcome.version).not.toBe(original);
    expect(await azure.read()).toEqual({ payload: next.json, version: outcome.version });
    expect(fake.store.get(SECRET)?.versions.map((v) => v.id)).toEqual([original, outcome.version]);
    expect(fake.contentTypes.get(outcome.version ?? '')).toBe('application/json');
  });

  test('a write to a secret that does not exist yet creates it when no version was expected', async () => {
    const { provider: azure } = await provider();
    const creds = makeFakeCredentials();

    const outcome = await azure.write({ payload: creds.json, expectedVersion: undefined });

    expect(fake.store.latest(SECRET)?.id).toBe(outcome.version);
    expect(fake.store.latest(SECRET)?.value).toBe(creds.json);
  });

  test.each([
    { case: 'another version is now the latest', seedFirst: true, expected: 'stale-version-id' },
    { case: 'the secret appeared since it was read as missing', seedFirst: true, expected: undefined },
    { case: 'the secret was deleted since it was read', seedFirst: false, expected: 'f'.repeat(32) },
  ])('a stale expectedVersion ($case) is a ConflictError and writes nothing', async ({ seedFirst, expected }) => {
    if (seedFirst) seed(makeFakeCredentials().json);
    const versionsBefore = fake.store.get(SECRET)?.versions.length ?? 0;
    const { provider: azure, credential } = await provider();
    const creds = makeFakeCredentials();

    const error = await caught(azure.write({ payload: creds.json, expectedVersion: expected }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('nothing was written');
    expect(fake.store.get(SECRET)?.versions.length ?? 0).toBe(versionsBefore);
    expect(fake.faults.count('setSecret')).toBe(0);
    expectNoSecrets(error, creds, credential.token);
  });

  test('a writer that lands right after ours is a ConflictError: ours landed, theirs stays latest', async () => {
    const original = seed(makeFakeCredentials().json);
    const theirs = makeFakeCredentials();
    const ours = makeFakeCredentials();
    const { provider: azure, credential } = await provider();
    let theirVersion = '';
    fake.afterNextWrite(() => {
      theirVersion = fake.store.addVersion(SECRET, theirs.json, { id: randomVersionId() }).id;
    });

    const error = await caught(azure.write({ payload: ours.json, expectedVersion: original }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('re-read');
    const values = fake.store.get(SECRET)?.versions.map((v) => v.value);
    expect(values).toEqual([expect.any(String), ours.json, theirs.json]);
    expect(fake.store.latest(SECRET)?.id).toBe(theirVersion);
    expectNoSecrets(error, ours, theirs, credential.token);
  });

  test('a writer that lands between our check and our write goes unnoticed (no conditional write in Key Vault): ours lands on top', async () => {
    // The limit of detect-conflict: the other writer's own post-write check is what reports this race.
    const original = seed(makeFakeCredentials().json);
    const theirs = makeFakeCredentials();
    const ours = makeFakeCredentials();
    const { provider: azure } = await provider();
    fake.faults.beforeNextWrite(() => {
      fake.store.addVersion(SECRET, theirs.json, { id: randomVersionId() });
    });

    const outcome = await azure.write({ payload: ours.json, expectedVersion: original });

    expect(fake.store.get(SECRET)?.versions.map((v) => v.value)).toEqual([expect.any(String), theirs.json, ours.json]);
    expect(fake.store.latest(SECRET)?.id).toBe(outcome.version);
  });

  test('a secret URL that pins a version cannot be written', async () => {
    const pinned = seed(makeFakeCredentials().json);
    const { provider: azure } = await provider({ secret: `${fake.secretRef(SECRET)}/${pinned}`, vaultUrl: undefined });
    const creds = makeFakeCredentials();

    const error = await caught(azure.write({ payload: creds.json, expectedVersion: pinned }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('drop the version');
    expect(fake.faults.count('setSecret')).toBe(0);
    expectNoSecrets(error, creds);
  });
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
        (attempt) =>
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

describe('azure provider: the real DefaultAzureCredential in a separate process', () => {
  const azureModule = pathToFileURL(fileURLToPath(new URL('../../../src/providers/azure/index.ts', import.meta.url))).href;
  const guard = fileURLToPath(new URL('../../support/loopback-guard.mjs', import.meta.url));
  // What a claude-creds process would do with cliArgs/cliEnv: build the provider from its environment, read, write.
  const script = `
    const { createAzureProvider } = await import(${JSON.stringify(azureModule)});
    const input = JSON.parse(process.env.AZURE_TEST_INPUT);
    try {
      const provider = await createAzureProvider({ ...input.config, env: { ...process.env } });
      const read = await provider.read();
      const written = await provider.write({ payload: input.payload, expectedVersion: read.version });
      process.stdout.write(JSON.stringify({ read: read.version, written: written.version }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: error.name, message: error.message }));
    }
  `;

  async function runChild(env: Record<string, string>, payload: string): Promise<Record<string, string>> {
    const config = { ...fake.providerConfig(SECRET), env: {} };
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', guard, '--input-type=module', '--eval', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: {
        PATH: process.env.PATH ?? '',
        CLAUDE_CREDS_GUARD_LOG: process.env.CLAUDE_CREDS_GUARD_LOG ?? '',
        ...env,
        AZURE_TEST_INPUT: JSON.stringify({ config, payload }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr, `child stderr (exit ${String(code)})`).not.toMatch(/loopback-guard|Error/);
    return JSON.parse(stdout) as Record<string, string>;
  }

  test('gets a token from the fake Entra ID endpoints with the service principal from cliEnv, then reads and writes', async () => {
    const original = seed(makeFakeCredentials().json);
    const next = makeFakeCredentials();
    const tokensBefore = fake.tokenRequests.length;
    const requestsBefore = fake.requests.length;

    const result = await runChild(fake.cliEnv, next.json);

    expect(result).toEqual({ read: original, written: fake.store.latest(SECRET)?.id });
    expect(fake.store.latest(SECRET)?.value).toBe(next.json);
    const tokenRequests = fake.tokenRequests.slice(tokensBefore);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]).toMatchObject({
      tenant: fake.tenantId,
      clientId: fake.clientId,
      grantType: 'client_credentials',
      proof: 'client_secret',
      scope: expect.stringContaining('https://vault.localhost/.default'),
    });
    const issued = tokenRequests[0]?.issued;
    expect(issued).toMatch(/^fake-entra-token-/);
    const vaultCalls = fake.requests.slice(requestsBefore).filter((r) => r.operation !== 'openidConfiguration' && r.operation !== 'token');
    expect(vaultCalls.map((r) => [r.operation, r.bearer === issued])).toEqual([
      ['challenge', false],
      ['getSecret', true],
      ['getSecret', true],
      ['setSecret', true],
      ['getSecret', true],
    ]);
  });

  test('finds a Workload Identity (AKS) through the whole default chain, with no service principal in the environment', async () => {
    // No AZURE_TOKEN_CREDENTIALS: EnvironmentCredential is skipped, WorkloadIdentityCredential answers, and
    // the loopback guard would catch any probe of IMDS by the managed-identity step.
    const creds = makeFakeCredentials();
    const original = seed(makeFakeCredentials().json);
    const dir = await mkdtemp(join(tmpdir(), 'claude-creds-azure-wi-'));
    const tokenFile = join(dir, 'azure-identity-token');
    await writeFile(tokenFile, fake.federatedToken);
    const { AZURE_CLIENT_SECRET: _secret, AZURE_TOKEN_CREDENTIALS: _pinned, ...base } = fake.cliEnv;
    const tokensBefore = fake.tokenRequests.length;
    try {
      const result = await runChild({ ...base, AZURE_FEDERATED_TOKEN_FILE: tokenFile }, creds.json);

      expect(result).toEqual({ read: original, written: fake.store.latest(SECRET)?.id });
      expect(fake.tokenRequests.slice(tokensBefore)).toEqual([
        expect.objectContaining({ clientId: fake.clientId, proof: 'client_assertion', issued: expect.any(String) }),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a wrong client secret is a PermissionDeniedError that explains the credential chain and shows no secret', async () => {
    seed(makeFakeCredentials().json);
    const next = makeFakeCredentials();
    const wrongSecret = 'wrong-client-secret-value';

    const result = await runChild({ ...fake.cliEnv, AZURE_CLIENT_SECRET: wrongSecret }, next.json);

    expect(result.error).toBe('PermissionDeniedError');
    expect(result.message).toContain('AZURE_CLIENT_SECRET');
    expect(result.message).toContain('AADSTS7000215');
    for (const value of [wrongSecret, fake.clientSecret, ...next.tokens]) expect(result.message).not.toContain(value);
  });
});
