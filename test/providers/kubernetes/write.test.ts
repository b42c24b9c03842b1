import { describe, expect, test } from 'vitest';
import { ConfigError, ConflictError, NotFoundError, PermissionDeniedError } from '../../../src/core/errors.js';
import { withRetry, type RetryPolicy } from '../../../src/core/retry.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { caught, expectNoLeak, useFakeKubernetes } from './support.js';

const FAST: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };
const k8s = useFakeKubernetes();

/** A Secret with the credentials and company, and a provider that has read it. */
async function seeded() {
  const name = k8s.uniqueName();
  const creds = makeFakeCredentials();
  k8s.fake().putSecret(name, { 'credentials.json': creds.json, 'settings.json': '{"theme":"dark"}' }, { labels: { team: 'agents' } });
  const provider = await k8s.providerFor(name);
  const { version } = await provider.read();
  return { name, creds, provider, version: version as string };
}

describe('compare-and-swap writes', () => {
  test('a write on the version read replaces the key with a PUT carrying that resourceVersion; other keys and labels stay', async () => {
    const { name, provider, version } = await seeded();
    const next = makeFakeCredentials();
    const calls = k8s.fake().requests.length;

    const outcome = await provider.write({ payload: next.json, expectedVersion: version });

    expect(outcome.version).not.toBe(version);
    expect(outcome.version).toBe(k8s.fake().secretOf(name)?.metadata && (k8s.fake().secretOf(name)?.metadata as { resourceVersion: string }).resourceVersion);
    // The object read was remembered: no second GET before the PUT.
    expect(k8s.fake().requests.slice(calls).map((r) => `${r.method} ${r.query}`)).toEqual(['PUT ?fieldManager=claude-creds']);
    expect(k8s.fake().valueOf(name)).toBe(next.json);
    expect(k8s.fake().valueOf(name, 'settings.json')).toBe('{"theme":"dark"}');
    expect((k8s.fake().secretOf(name)?.metadata as { labels: unknown }).labels).toEqual({ team: 'agents' });
    expect(await provider.read()).toEqual({ payload: next.json, version: outcome.version });
  });

  test('another writer between our read and our PUT: the API server answers 409, a ConflictError, and their value stays', async () => {
    const { name, provider, version, creds } = await seeded();
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    k8s.fake().faults.beforeNextWrite(() => void k8s.fake().putSecret(name, { 'credentials.json': theirs.json }));

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: version }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/changed since it was read \(409 Conflict: Operation cannot be fulfilled on secrets .*the object has been modified/);
    expect(k8s.fake().valueOf(name)).toBe(theirs.json);
    expectNoLeak(error, k8s.fake(), [creds, theirs, mine]);
  });

  test('a version this provider did not read is checked with a GET first; a stale one is refused without a PUT', async () => {
    const { name, version } = await seeded();
    const newer = makeFakeCredentials();
    k8s.fake().putSecret(name, { 'credentials.json': newer.json });
    const other = await k8s.providerFor(name); // a fresh process: nothing remembered
    const calls = k8s.fake().requests.length;

    const error = await caught(other.write({ payload: makeFakeCredentials().json, expectedVersion: version }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain(`resourceVersion ${version} is now`);
    expect(k8s.fake().requests.slice(calls).map((r) => r.method)).toEqual(['GET']);
    expect(k8s.fake().valueOf(name)).toBe(newer.json);
  });

  test('a version this provider did not read, still current, is written after one GET', async () => {
    const { name, version } = await seeded();
    const other = await k8s.providerFor(name);
    const next = makeFakeCredentials();

    await other.write({ payload: next.json, expectedVersion: version });

    expect(k8s.fake().valueOf(name)).toBe(next.json);
    expect(k8s.fake().valueOf(name, 'settings.json')).toBe('{"theme":"dark"}');
  });

  test('a retried PUT whose first attempt landed (answer lost) gets that version back, not a conflict', async () => {
    const { name, provider, version } = await seeded();
    const next = makeFakeCredentials();
    const first = await provider.write({ payload: next.json, expectedVersion: version });

    const again = await provider.write({ payload: next.json, expectedVersion: version });

    expect(again).toEqual(first);
    expect(k8s.fake().store.get(k8s.fake().storeKey(name))?.versions).toHaveLength(2);
  });

  test('a write dropped on the wire is retried through withRetry and lands once', async () => {
    const { name, provider, version } = await seeded();
    const next = makeFakeCredentials();
    k8s.fake().faults.failNext(1, 'reset', 'update-secret');

    const outcome = await withRetry('push', (attempt) => provider.write({ payload: next.json, expectedVersion: version }, attempt), FAST);

    expect(k8s.fake().valueOf(name)).toBe(next.json);
    expect(outcome.version).toBe((k8s.fake().secretOf(name)?.metadata as { resourceVersion: string }).resourceVersion);
  });

  test('a Secret deleted since it was read is a ConflictError', async () => {
    const { name, version } = await seeded();
    k8s.fake().store.delete(k8s.fake().storeKey(name));
    const other = await k8s.providerFor(name);

    const error = await caught(other.write({ payload: makeFakeCredentials().json, expectedVersion: version }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('was deleted since it was read');
  });

  test('an immutable Secret: 422 Invalid becomes a ConfigError that says so', async () => {
    const name = k8s.uniqueName();
    k8s.fake().putSecret(name, { 'credentials.json': makeFakeCredentials().json }, { immutable: true });
    const provider = await k8s.providerFor(name);
    const { version } = await provider.read();

    const error = await caught(provider.write({ payload: makeFakeCredentials().json, expectedVersion: version }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/refused to update Secret ".+" in namespace "claude" \(422 Invalid: Secret ".+" is invalid: data: Forbidden: field is immutable/);
    expect(error.message).toContain('recreate it without "immutable: true"');
  });

  test('update refused by RBAC names the verb update and the Role with get and update', async () => {
    const { name, provider, version } = await seeded();
    k8s.fake().grant(k8s.fake().serviceAccountUser, { get: [name] });

    const error = await caught(provider.write({ payload: makeFakeCredentials().json, expectedVersion: version }));

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain(`cannot update secrets "${name}" in namespace "claude"`);
    expect(error.message).toContain(`kubectl create role claude-creds --namespace claude --verb=get,update --resource=secrets --resource-name=${name}`);
  });
});

describe('creating (push to a Secret that does not exist)', () => {
  test('POSTs an Opaque Secret labelled app.kubernetes.io/managed-by: claude-creds', async () => {
    const name = k8s.uniqueName();
    const provider = await k8s.providerFor(name);
    const creds = makeFakeCredentials();

    const outcome = await provider.write({ payload: creds.json, expectedVersion: undefined });

    const secret = k8s.fake().secretOf(name) as { type: string; metadata: { labels: unknown; resourceVersion: string } };
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'claude-creds' });
    expect(outcome.version).toBe(secret.metadata.resourceVersion);
    expect(k8s.fake().requests.filter((r) => r.method === 'POST').at(-1)).toMatchObject({ path: '/api/v1/namespaces/claude/secrets', query: '?fieldManager=claude-creds', status: 201 });
    expect(await provider.read()).toEqual({ payload: creds.json, version: outcome.version });
  });

  test('a Secret that exists without the key (made by kubectl create secret) gets the key added with a PUT', async () => {
    const name = k8s.uniqueName();
    k8s.fake().putSecret(name, { 'README.txt': 'made by hand' });
    const provider = await k8s.providerFor(name);
    const creds = makeFakeCredentials();
    const calls = k8s.fake().requests.length;

    await provider.write({ payload: creds.json, expectedVersion: undefined });

    expect(k8s.fake().valueOf(name)).toBe(creds.json);
    expect(k8s.fake().valueOf(name, 'README.txt')).toBe('made by hand');
    expect(k8s.fake().requests.slice(calls).map((r) => r.method)).toEqual(['GET', 'PUT']);
  });

  test('another writer creating it first: 409 AlreadyExists is a ConflictError, and their value stays', async () => {
    const name = k8s.uniqueName();
    const provider = await k8s.providerFor(name);
    const theirs = makeFakeCredentials();
    k8s.fake().faults.beforeNextWrite(() => void k8s.fake().putSecret(name, { 'credentials.json': theirs.json }));

    const error = await caught(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/409 AlreadyExists: secrets ".+" already exists/);
    expect(k8s.fake().valueOf(name)).toBe(theirs.json);
  });

  test('a key that appeared since the read (another pusher) is a ConflictError', async () => {
    const name = k8s.uniqueName();
    k8s.fake().putSecret(name, { 'credentials.json': makeFakeCredentials().json });
    const provider = await k8s.providerFor(name);

    const error = await caught(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('now holds "credentials.json", which did not exist when it was read');
  });

  test('create refused by RBAC says that create cannot be limited by name, and how to create the Secret instead', async () => {
    const name = k8s.uniqueName();
    k8s.fake().grant(k8s.fake().serviceAccountUser, { get: ['*'], update: ['*'], create: false });
    const provider = await k8s.providerFor(name);

    const error = await caught(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }));

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain('cannot create secrets');
    expect(error.message).toContain('kubectl create role claude-creds-push --namespace claude --verb=create --resource=secrets');
    expect(error.message).toContain('create cannot be limited to one name');
    expect(error.message).toContain(`kubectl create secret generic ${name} --namespace claude --from-file=credentials.json=`);
  });

  test('a namespace that does not exist is a NotFoundError naming the namespace', async () => {
    const name = k8s.uniqueName();
    const provider = await k8s.providerFor(name, { secret: `nowhere/${name}` });

    const error = await caught(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain('the namespace "nowhere" does not exist');
  });
});
