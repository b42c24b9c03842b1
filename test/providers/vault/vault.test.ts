import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { chooseProvider } from '../../../src/core/config.js';
import { parseCredentials } from '../../../src/core/credentials.js';
import {
  ConfigError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
} from '../../../src/core/errors.js';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import { createVaultProvider, parseVaultSecret } from '../../../src/providers/vault/index.js';
import { withRetry, type RetryPolicy } from '../../../src/core/retry.js';
import type { FaultKind } from '../../fakes/faults.js';
import { startFakeVault, type FakeVaultOptions, type RunningFakeVault } from '../../fakes/vault.js';
import { makeFakeCredentials, type FakeCredentials } from '../../support/fake-credentials.js';
import { assertNoLeaks } from '../../support/leak-check.js';

const FAST: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };
const JWT = `eyJhbGciOiJSUzI1NiJ9.FAKE-K8S-SA-${'a1b2c3d4'.repeat(6)}.c2lnbmF0dXJlLWZha2U`;
const ROLE_ID = 'role-id-FAKE-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const SECRET_ID = 'secret-id-FAKE-9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4';

let fake: RunningFakeVault;
const providers: Provider[] = [];
const fakes: RunningFakeVault[] = [];
let counter = 0;
let dir: string;
let jwtPath: string;

/** Every secret value a message must never hold. */
function vaultSecrets(...extra: RunningFakeVault[]): string[] {
  return [fake, ...extra].flatMap((f) => [f.rootToken, ...f.loginTokens]).concat(JWT, ROLE_ID, SECRET_ID);
}

beforeAll(async () => {
  fake = await startFakeVault({
    kubernetes: { role: 'claude-creds', jwt: JWT },
    approle: { roleId: ROLE_ID, secretId: SECRET_ID },
  });
  dir = mkdtempSync(join(tmpdir(), 'claude-creds-vault-test-'));
  jwtPath = join(dir, 'token');
  writeFileSync(jwtPath, `${JWT}\n`);
});

afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.faults.reset();
  fake.sealed = false;
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close?.()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

function uniqueName(): string {
  counter += 1;
  return `claude/creds-${counter}`;
}

async function extraFake(options: FakeVaultOptions): Promise<RunningFakeVault> {
  const started = await startFakeVault(options);
  fakes.push(started);
  return started;
}

async function providerFor(secretName: string, overrides: Partial<ProviderConfig> = {}, on: RunningFakeVault = fake): Promise<Provider> {
  const base = on.providerConfig(secretName);
  const provider = await createVaultProvider({ ...base, ...overrides, env: { ...base.env, ...overrides.env } });
  providers.push(provider);
  return provider;
}

/** Environment for a login method instead of VAULT_TOKEN. */
function loginEnv(method: 'kubernetes' | 'approle'): Record<string, string | undefined> {
  return method === 'kubernetes'
    ? { VAULT_TOKEN: undefined, VAULT_K8S_ROLE: 'claude-creds', VAULT_K8S_TOKEN_PATH: jwtPath }
    : { VAULT_TOKEN: undefined, VAULT_ROLE_ID: ROLE_ID, VAULT_SECRET_ID: SECRET_ID };
}

/** A secret holding `creds` in the field `credentials`, and a provider pointed at it. */
async function seeded(creds: FakeCredentials = makeFakeCredentials()) {
  const name = uniqueName();
  const version = fake.putField(name, creds.json);
  return { name, version, creds, provider: await providerFor(name) };
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection');
}

/** No credentials token, Vault token, JWT, role_id or secret_id in the message or stack. */
function expectNoLeak(error: Error, creds: FakeCredentials[] = [], ...others: RunningFakeVault[]): void {
  const text = `${error.message}\n${String(error.stack)}`;
  assertNoLeaks(error.message, text, [...creds.flatMap((c) => c.tokens), ...vaultSecrets(...others)]);
}

describe('reading', () => {
  test('returns the credentials field and the KV version', async () => {
    const { provider, creds, version } = await seeded();

    const stored = await provider.read();

    expect(stored).toEqual({ payload: creds.json, version: String(version) });
    expect(provider.name).toBe('vault');
    expect(provider.writes).toBe('compare-and-swap');
    expect(fake.faults.calls).toEqual(['kv-read']);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', tokenKind: 'root' });
  });

  test('returns a base64 value as-is, which the core then parses', async () => {
    const creds = makeFakeCredentials();
    const { provider } = await seeded({ ...creds, json: creds.base64 });

    const stored = await provider.read();

    expect(stored.payload).toBe(creds.base64);
    expect(parseCredentials(stored.payload).oauth.refreshToken).toBe(creds.refreshToken);
  });

  test('a secret whose data is the credentials document itself is read as that document', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), creds.json);

    const stored = await (await providerFor(name)).read();

    expect(stored.payload).toBe(creds.json);
  });

  test('#field names another field; a missing one is a NotFoundError listing the fields, not their values', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), JSON.stringify({ claude: creds.json, other: 'unrelated-value-FAKE' }));

    expect((await (await providerFor(name, { secret: `secret/${name}#claude` })).read()).payload).toBe(creds.json);

    const error = await caught((await providerFor(name)).read());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain('no field "credentials"');
    expect(error.message).toContain('claude, other');
    expect(error.message).not.toContain('unrelated-value-FAKE');
    expectNoLeak(error, [creds]);
  });

  test('the explicit API form secret/data/<path> names the same secret', async () => {
    const { name, creds } = await seeded();
    const provider = await providerFor(name, { secret: `secret/data/${name}` });
    expect((await provider.read()).payload).toBe(creds.json);
    expect(provider.location).toBe(`${fake.url}/v1/secret/data/${name}`);
  });

  test('a missing secret is a NotFoundError naming the full path and VAULT_ADDR', async () => {
    const name = uniqueName();
    const error = await caught((await providerFor(name)).read());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`secret/data/${name}`);
    expect(error.message).toContain(fake.url);
    expect(fake.faults.count('kv-read')).toBe(1);
    expectNoLeak(error);
  });

  test('a deleted latest version is a NotFoundError that says so', async () => {
    const { name, provider } = await seeded();
    fake.deleteLatest(name);
    const error = await caught(provider.read());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toMatch(/latest version 1 is deleted/);
  });

  test('a read that outlives its time budget is aborted as a retryable StoreUnavailableError', async () => {
    const { provider, creds } = await seeded();
    fake.faults.delay(2_000);
    const started = Date.now();

    const error = await caught(provider.read({ timeoutMs: 100 }));

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expectNoLeak(error, [creds]);
  });
});

describe('compare-and-swap writes', () => {
  test('a write with the version read adds the next version and keeps the other fields', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), JSON.stringify({ credentials: creds.json, owner: 'team-a' }));
    const provider = await providerFor(name);
    const next = makeFakeCredentials();

    const outcome = await provider.write({ payload: next.json, expectedVersion: '1' });

    expect(outcome).toEqual({ version: '2' });
    expect(await provider.read()).toEqual({ payload: next.json, version: '2' });
    expect(fake.dataOf(name)).toEqual({ credentials: next.json, owner: 'team-a' });
    expect(fake.faults.calls).toEqual(['kv-read', 'kv-write', 'kv-read']);
  });

  test('the whole-document shape is written back in that shape', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    fake.store.addVersion(fake.storeKey(name), creds.json);
    const provider = await providerFor(name);
    const next = makeFakeCredentials();

    await provider.write({ payload: next.json, expectedVersion: '1' });

    expect(fake.dataOf(name)).toEqual(JSON.parse(next.json));
    expect((await provider.read()).payload).toBe(next.json);
  });

  test('another writer between our check and our write: ConflictError, and their version stays', async () => {
    const { name, provider, creds } = await seeded();
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.beforeNextWrite(() => void fake.putField(name, theirs.json));

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: '1' }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/check-and-set on version 1/);
    expect(fake.store.latest(fake.storeKey(name))?.number).toBe(2);
    expect(fake.dataOf(name)).toEqual({ credentials: theirs.json });
    expectNoLeak(error, [creds, theirs, mine]);
  });

  test('a stale expectedVersion is refused before anything is written', async () => {
    const { name, provider, creds } = await seeded();
    const newer = makeFakeCredentials();
    fake.putField(name, newer.json);
    const mine = makeFakeCredentials();

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: '1' }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('version 2');
    expect(fake.faults.calls).toEqual(['kv-read']);
    expect(fake.dataOf(name)).toEqual({ credentials: newer.json });
    expectNoLeak(error, [creds, newer, mine]);
  });

  test('creates a missing secret with cas 0', async () => {
    const name = uniqueName();
    const provider = await providerFor(name);
    const creds = makeFakeCredentials();

    const outcome = await provider.write({ payload: creds.json, expectedVersion: undefined });

    expect(outcome).toEqual({ version: '1' });
    expect(fake.dataOf(name)).toEqual({ credentials: creds.json });
    expect(await provider.read()).toEqual({ payload: creds.json, version: '1' });
  });

  test('a create that loses to another writer (cas 0 refused) is a ConflictError and keeps their value', async () => {
    const name = uniqueName();
    const provider = await providerFor(name);
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.beforeNextWrite(() => void fake.putField(name, theirs.json));

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: undefined }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/check-and-set on version 0/);
    expect(fake.dataOf(name)).toEqual({ credentials: theirs.json });
    expectNoLeak(error, [theirs, mine]);
  });

  test('a write whose first attempt landed (answer lost) is answered with that version, not a conflict', async () => {
    const { name, provider } = await seeded();
    const next = makeFakeCredentials();
    fake.putField(name, next.json); // what the first attempt left

    const outcome = await provider.write({ payload: next.json, expectedVersion: '1' });

    expect(outcome).toEqual({ version: '2' });
    expect(fake.faults.calls).toEqual(['kv-read']);
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(2);
  });

  test('a secret whose latest version was deleted is written over as a missing one', async () => {
    const { name, provider } = await seeded();
    fake.deleteLatest(name);
    const next = makeFakeCredentials();

    const outcome = await provider.write({ payload: next.json, expectedVersion: undefined });

    expect(outcome).toEqual({ version: '2' });
    expect((await provider.read()).payload).toBe(next.json);
  });

  test('a write dropped on the wire is retried through withRetry and lands once', async () => {
    const { name, provider } = await seeded();
    const next = makeFakeCredentials();
    fake.faults.failNext(1, 'reset', 'kv-write');

    const outcome = await withRetry('push', (a) => provider.write({ payload: next.json, expectedVersion: '1' }, a), FAST);

    expect(outcome).toEqual({ version: '2' });
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(2);
  });
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
    const provider = await providerFor('c', { env: { VAULT_TOKEN: undefined, VAULT_K8S_ROLE: 'r', VAULT_K8S_TOKEN_PATH: jwtPath, VAULT_K8S_MOUNT: 'k8s-prod' } }, other);
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
    const wrong = join(dir, 'wrong-token');
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
    const missing = join(dir, 'no-such-token');
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
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    await expect(providerFor('x', { env: { VAULT_CACERT: join(dir, 'missing.pem') } })).rejects.toThrow(/cannot read VAULT_CACERT/);
    await expect(providerFor('x', { caFile: notPem })).rejects.toThrow(/--ca-file .* holds no PEM certificate/);
  });
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
