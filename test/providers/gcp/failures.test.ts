import { beforeAll, describe, expect, test } from 'vitest';
import { DeadlineExceededError, DependencyError, NotFoundError, PermissionDeniedError, StoreUnavailableError } from '../../../src/core/errors.js';
import { createGcpProvider, GCP_SDK_PACKAGE } from '../../../src/providers/gcp/index.js';
import type { Provider } from '../../../src/core/provider.js';
import { withRetry } from '../../../src/core/retry.js';
import type { RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import type { FaultKind } from '../../fakes/faults.js';
import { makeFakeCredentials, type FakeCredentials } from '../../support/fake-credentials.js';
import { CALL, SHORT_POLICY, expectNoSecrets, failure, freshName, gcp, seed, useGcpFake } from './support.js';

const gcpFake = useGcpFake();
let fake: RunningFakeGcp;
beforeAll(() => {
  fake = gcpFake();
});

describe('gcp provider: failures and the shared retry policy', () => {
  test('UNAVAILABLE twice then success through withRetry: three calls, one per attempt', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);
    fake.faults.failNext(2, 'unavailable', 'AccessSecretVersion');
    const provider = await gcp(name);
    const retries: number[] = [];

    const read = await withRetry(
      'read gcp',
      (attempt) => provider.read({ signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
      SHORT_POLICY,
      { onRetry: ({ attempt }) => retries.push(attempt) },
    );

    expect(Buffer.from(read.payload).toString('utf8')).toBe(creds.json);
    expect(retries).toEqual([1, 2]);
    expect(fake.faults.count('AccessSecretVersion')).toBe(3);
  });

  // The SDK's own config retries UNAVAILABLE and RESOURCE_EXHAUSTED on AccessSecretVersion for 600 s:
  // exactly one call per provider call proves it is off.
  test.each<{ kind: FaultKind; operation: 'AccessSecretVersion' | 'AddSecretVersion' }>([
    { kind: 'unavailable', operation: 'AccessSecretVersion' },
    { kind: 'throttle', operation: 'AccessSecretVersion' },
    { kind: 'internal', operation: 'AccessSecretVersion' },
    { kind: 'reset', operation: 'AccessSecretVersion' },
    { kind: 'unavailable', operation: 'AddSecretVersion' },
    { kind: 'throttle', operation: 'AddSecretVersion' },
  ])('$kind on $operation is one retryable StoreUnavailableError, not retried by the SDK', async ({ kind, operation }) => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);
    fake.faults.failNext(1, kind, operation);
    const provider = await gcp(name);

    const error = await failure(
      operation === 'AccessSecretVersion'
        ? provider.read(CALL)
        : provider.write({ payload: creds.json, expectedVersion: '1' }, CALL),
    );

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expect(error.message).toContain(fake.storeKey(name));
    expect(fake.faults.count(operation)).toBe(1);
    expectNoSecrets(error, creds);
  });

  test.each<{ operation: string; role: string; permission: string; run: (p: Provider, c: FakeCredentials) => Promise<unknown> }>([
    {
      operation: 'AccessSecretVersion',
      role: 'roles/secretmanager.secretAccessor',
      permission: 'secretmanager.versions.access',
      run: (p: Provider) => p.read(CALL),
    },
    {
      operation: 'AddSecretVersion',
      role: 'roles/secretmanager.secretVersionAdder',
      permission: 'secretmanager.versions.add',
      run: (p: Provider, creds: FakeCredentials) => p.write({ payload: creds.json, expectedVersion: '1' }, CALL),
    },
  ])('PERMISSION_DENIED on $operation ends at once, naming $role on the secret', async ({ operation, role, permission, run }) => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);
    fake.faults.failNext(5, 'denied', operation);
    const provider = await gcp(name);

    const error = await failure(withRetry('gcp', () => run(provider, creds), SHORT_POLICY));

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain(role);
    expect(error.message).toContain(permission);
    expect(error.message).toContain(`on ${fake.storeKey(name)}`);
    expect(fake.faults.count(operation)).toBe(1);
    expectNoSecrets(error, creds);
  });

  test('PERMISSION_DENIED creating a missing secret names secrets.create on the project', async () => {
    const name = freshName();
    fake.faults.failNext(1, 'denied', 'CreateSecret');
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }, CALL));

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain('secretmanager.secrets.create');
    expect(error.message).toContain('on projects/fake-project');
    expect(error.message).toContain(`gcloud secrets create ${name} --project fake-project`);
  });

  test('a NOT_FOUND answer is NotFoundError naming the resource, not retried', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    fake.faults.failNext(1, 'not-found', 'AccessSecretVersion');
    const provider = await gcp(name);

    const error = await failure(withRetry('gcp', (a) => provider.read({ timeoutMs: a.timeoutMs }), SHORT_POLICY));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`${fake.storeKey(name)}/versions/latest`);
    expect(fake.faults.count('AccessSecretVersion')).toBe(1);
  });

  test('a slow server ends the call within about timeoutMs, as a retryable error', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    fake.faults.delay(4_000);
    const provider = await gcp(name);

    const started = Date.now();
    const error = await failure(provider.read({ timeoutMs: 300 }));
    const elapsed = Date.now() - started;

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toMatch(/DEADLINE_EXCEEDED|before the deadline/);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_500);
  });

  test('a write shares one timeoutMs across its check and its add', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    fake.faults.delay(400);
    const provider = await gcp(name);

    const started = Date.now();
    const error = await failure(provider.write({ payload: makeFakeCredentials().json, expectedVersion: '1' }, { timeoutMs: 600 }));

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fake.faults.calls).toEqual(['AccessSecretVersion', 'AddSecretVersion']);
  });

  test('an aborted signal ends the wait at once even with time left', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    fake.faults.delay(4_000);
    const provider = await gcp(name);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);

    const started = Date.now();
    const error = await failure(provider.read({ signal: controller.signal, timeoutMs: 30_000 }));

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test('withRetry against a server slower than the whole deadline gives DeadlineExceededError on time', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    fake.faults.delay(4_000);
    const provider = await gcp(name);

    const started = Date.now();
    const error = await failure(
      withRetry('read gcp', (a) => provider.read({ signal: a.signal, timeoutMs: a.timeoutMs }), {
        ...SHORT_POLICY,
        deadlineMs: 600,
      }),
    );

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('a failed SDK load is a DependencyError naming the npm package', async () => {
    const error = await failure(
      createGcpProvider(fake.providerConfig(freshName()), {
        loadSdk: () => Promise.reject(new Error(`Cannot find module '${GCP_SDK_PACKAGE}'`)),
      }),
    );

    expect(error).toBeInstanceOf(DependencyError);
    expect(error.message).toContain('@google-cloud/secret-manager');
  });
});
