import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import CRC32C from 'crc-32/crc32c.js';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../../src/core/credentials.js';
import {
  ConfigError,
  ConflictError,
  DeadlineExceededError,
  DependencyError,
  IntegrityError,
  NotFoundError,
  PermissionDeniedError,
  ReadOnlyProviderError,
  StoreUnavailableError,
} from '../../../src/core/errors.js';
import { createGcpProvider, GCP_SDK_PACKAGE } from '../../../src/providers/gcp/index.js';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import { withRetry } from '../../../src/core/retry.js';
import type { RetryPolicy } from '../../../src/core/retry.js';
import { startFakeGcp } from '../../fakes/gcp-secret-manager.js';
import type { RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import type { FaultKind } from '../../fakes/faults.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import type { FakeCredentials } from '../../support/fake-credentials.js';

const SHORT_POLICY: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 10, maxDelayMs: 50, multiplier: 2 };
const CALL = { timeoutMs: 5_000 };

let fake: RunningFakeGcp;
let guardDir: string;
let suiteGuardLog: string | undefined;
const open: Provider[] = [];
let counter = 0;

/** A fresh secret per test, so tests never see each other's versions. */
const freshName = (): string => `claude-creds-${++counter}`;

async function gcp(secretName: string, overrides: Partial<ProviderConfig> = {}): Promise<Provider> {
  const provider = await createGcpProvider({ ...fake.providerConfig(secretName), ...overrides });
  open.push(provider);
  return provider;
}

function seed(secretName: string, ...values: string[]): void {
  for (const value of values) fake.store.addVersion(fake.storeKey(secretName), value);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, got a result');
}

/** Neither the message nor the stack of an error may quote a token or a whole payload. */
function expectNoSecrets(error: Error, ...credentials: FakeCredentials[]): void {
  const shown = `${error.message}\n${error.stack ?? ''}`;
  for (const creds of credentials) {
    for (const value of [...creds.tokens, creds.json, creds.base64]) expect(shown).not.toContain(value);
  }
}

beforeAll(async () => {
  fake = await startFakeGcp();
  // Violations in this file go to a log of its own, checked in afterAll (and passed on to the run's log),
  // so a metadata probe by the GCP client fails this file by name, not only the run at teardown.
  guardDir = mkdtempSync(join(tmpdir(), 'gcp-guard-'));
  suiteGuardLog = process.env.CLAUDE_CREDS_GUARD_LOG;
  process.env.CLAUDE_CREDS_GUARD_LOG = join(guardDir, 'violations.log');
});

afterEach(async () => {
  fake.faults.reset();
  fake.setCrcMode('correct');
  await Promise.all(open.splice(0).map((provider) => provider.close?.()));
});

afterAll(async () => {
  await fake.close();
  let violations = '';
  try {
    violations = readFileSync(join(guardDir, 'violations.log'), 'utf8');
  } catch {
    // no file: nothing was blocked
  }
  process.env.CLAUDE_CREDS_GUARD_LOG = suiteGuardLog;
  if (violations !== '' && suiteGuardLog) appendFileSync(suiteGuardLog, violations);
  rmSync(guardDir, { recursive: true, force: true });
  expect(violations, 'the GCP client reached for a non-loopback address (metadata server?)').toBe('');
});

describe('gcp provider: reading', () => {
  test('reads the latest version: payload as stored and its version number', async () => {
    const name = freshName();
    const older = makeFakeCredentials();
    const newer = makeFakeCredentials();
    seed(name, older.json, newer.json);
    const provider = await gcp(name);

    const read = await provider.read(CALL);

    expect(Buffer.from(read.payload).toString('utf8')).toBe(newer.json);
    expect(read.version).toBe('2');
    expect(parseCredentials(read.payload).oauth.accessToken).toBe(newer.accessToken);
    expect(provider.location).toBe(`projects/fake-project/secrets/${name}`);
    expect(provider.writes).toBe('detect-conflict');
  });

  test('a pinned version (.../versions/N) reads that version and refuses writes', async () => {
    const name = freshName();
    const first = makeFakeCredentials();
    seed(name, first.json, makeFakeCredentials().json);
    const provider = await gcp(name, { secret: `${fake.storeKey(name)}/versions/1` });

    const read = await provider.read(CALL);

    expect(Buffer.from(read.payload).toString('utf8')).toBe(first.json);
    expect(read.version).toBe('1');
    expect(provider.writes).toBe('none');
    const error = await failure(provider.write({ payload: first.json, expectedVersion: '1' }, CALL));
    expect(error).toBeInstanceOf(ReadOnlyProviderError);
    expect(error.message).toContain(`--secret ${fake.storeKey(name)}`);
    expect(fake.faults.count('AddSecretVersion')).toBe(0);
  });

  test('a base64 payload comes back byte for byte, and parseCredentials accepts it', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.base64);
    const provider = await gcp(name);

    const read = await provider.read(CALL);

    expect(Buffer.from(read.payload).toString('utf8')).toBe(creds.base64);
    const parsed = parseCredentials(read.payload);
    expect(parsed.encoding).toBe('base64');
    expect(parsed.text).toBe(creds.json);
  });

  test('a short secret name takes its project from --project, then GOOGLE_CLOUD_PROJECT', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);

    const viaFlag = await gcp(name, { secret: name, project: 'fake-project', env: {} });
    const viaEnv = await gcp(name, { secret: name, project: undefined, env: { GOOGLE_CLOUD_PROJECT: 'fake-project' } });

    expect(viaFlag.location).toBe(fake.storeKey(name));
    expect(viaEnv.location).toBe(fake.storeKey(name));
    expect(Buffer.from((await viaEnv.read(CALL)).payload).toString('utf8')).toBe(creds.json);
  });

  test.each([
    { case: 'a short name without any project', secret: 'creds', project: undefined, expected: /--project.*GOOGLE_CLOUD_PROJECT/ },
    { case: 'no secret at all', secret: undefined, project: 'p', expected: /--secret projects\/PROJECT\/secrets\/NAME/ },
    { case: 'a path of another shape', secret: 'projects/p/locations/eu/secrets/s', project: undefined, expected: /not a GCP secret/ },
    { case: 'a project that disagrees with the path', secret: 'projects/a/secrets/s', project: 'b', expected: /project a but --project is b/ },
    { case: 'a version that is not a number', secret: 'projects/p/secrets/s/versions/first', project: undefined, expected: /number or "latest"/ },
  ])('configuration error for $case, before the SDK is loaded', async ({ secret, project, expected }) => {
    let loaded = false;
    const error = await failure(
      createGcpProvider(
        { ...fake.providerConfig('x'), secret, project, env: {} },
        {
          loadSdk: async () => {
            loaded = true;
            throw new Error('not expected');
          },
        },
      ),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(expected);
    expect(loaded).toBe(false);
  });

  test('a payload whose CRC32C does not match is refused with IntegrityError and not returned', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);
    fake.setCrcMode('corrupt');
    const provider = await gcp(name);

    const error = await failure(provider.read(CALL));

    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toContain(`${fake.storeKey(name)}/versions/latest`);
    expectNoSecrets(error, creds);
  });

  test('a version stored without a checksum is still readable (nothing to verify against)', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);
    fake.setCrcMode('omit');
    const provider = await gcp(name);

    expect(Buffer.from((await provider.read(CALL)).payload).toString('utf8')).toBe(creds.json);
  });

  test('a secret that does not exist is NotFoundError naming the exact resource and project', async () => {
    const name = freshName();
    const provider = await gcp(name);

    const error = await failure(provider.read(CALL));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`projects/fake-project/secrets/${name}/versions/latest`);
    expect(error.message).toContain('project fake-project');
  });

  test('a disabled latest version (FAILED_PRECONDITION) is a ConfigError saying what to do', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);
    fake.disableVersion(name, 1);
    const provider = await gcp(name);

    const error = await failure(provider.read(CALL));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/FAILED_PRECONDITION.*enable it or add a new version/);
    expectNoSecrets(error, creds);
  });
});

describe('gcp provider: writing (detect-conflict)', () => {
  test('write then read: the version number increments and the store holds the payload', async () => {
    const name = freshName();
    const before = makeFakeCredentials();
    const after = makeFakeCredentials();
    seed(name, before.json);
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: after.json, expectedVersion: '1' }, CALL);
    const read = await provider.read(CALL);

    expect(outcome.version).toBe('2');
    expect(read.version).toBe('2');
    expect(Buffer.from(read.payload).toString('utf8')).toBe(after.json);
    expect(fake.store.latest(fake.storeKey(name))?.value).toBe(after.json);
    // The client sends the payload's checksum so the service can verify what it received.
    expect(fake.receivedCrcs.at(-1)).toBe(CRC32C.buf(Buffer.from(after.json)) >>> 0);
  });

  test('a stale expectedVersion is a ConflictError and nothing is added', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json, makeFakeCredentials().json);
    const mine = makeFakeCredentials();
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: mine.json, expectedVersion: '1' }, CALL));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/latest version is 2, expected 1; nothing was written/);
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(2);
    expect(fake.faults.count('AddSecretVersion')).toBe(0);
    expectNoSecrets(error, mine);
  });

  test('a writer that slips in between check and add is reported as ConflictError; our version landed after it', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.beforeNextWrite(() => {
      fake.store.addVersion(fake.storeKey(name), theirs.json);
    });
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: mine.json, expectedVersion: '1' }, CALL));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/another writer.*version 3, expected 2/);
    const versions = fake.store.get(fake.storeKey(name))?.versions ?? [];
    expect(versions.map((v) => v.value)).toEqual([expect.any(String), theirs.json, mine.json]);
    expect(fake.store.latest(fake.storeKey(name))?.number).toBe(3);
    expectNoSecrets(error, mine, theirs);
  });

  test('a missing secret is created (automatic replication) and gets version 1', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: creds.json, expectedVersion: undefined }, CALL);

    expect(outcome.version).toBe('1');
    expect(fake.faults.calls).toEqual(['AccessSecretVersion', 'CreateSecret', 'AddSecretVersion']);
    expect(fake.store.latest(fake.storeKey(name))?.value).toBe(creds.json);
  });

  test('a secret that exists without versions gets its first version (ALREADY_EXISTS is fine)', async () => {
    const name = freshName();
    fake.store.create(fake.storeKey(name));
    const provider = await gcp(name);

    const outcome = await provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }, CALL);

    expect(outcome.version).toBe('1');
    expect(fake.faults.count('CreateSecret')).toBe(1);
  });

  test('expecting no secret when one appeared meanwhile is a ConflictError', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const provider = await gcp(name);

    const error = await failure(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined }, CALL));

    expect(error).toBeInstanceOf(ConflictError);
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(1);
  });
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

describe('gcp provider: no ambient credentials lookups', () => {
  test('with GOOGLE_SDK_NODE_LOGGING on, a CLI-like process logs no request or payload', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, makeFakeCredentials().json);
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const script = `
      const { createGcpProvider } = await import(${JSON.stringify(join(root, 'src/providers/gcp/index.ts'))});
      const provider = await createGcpProvider(JSON.parse(process.env.GCP_TEST_CONFIG));
      const read = await provider.read({ timeoutMs: 5000 });
      const written = await provider.write({ payload: process.env.GCP_TEST_PAYLOAD, expectedVersion: read.version }, { timeoutMs: 5000 });
      await provider.close();
      process.stdout.write('wrote ' + written.version);
    `;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', join(root, 'test/support/loopback-guard.mjs'), '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        env: {
          ...process.env,
          ...fake.cliEnv,
          GOOGLE_SDK_NODE_LOGGING: 'secret-manager',
          GCP_TEST_CONFIG: JSON.stringify(fake.providerConfig(name)),
          GCP_TEST_PAYLOAD: creds.json,
        },
        timeout: 20_000,
      },
    );

    expect(stdout).toBe('wrote 2');
    expect(stderr).not.toContain('secret-manager|');
    for (const value of [...creds.tokens, creds.json]) expect(stderr).not.toContain(value);
  });

  // Proves the guard sees this client's ADC lookup, so the http:// endpoint tests above would fail if
  // the provider ever let the client look for credentials.
  test('control: a TLS endpoint makes the client look for ADC, which the guard records', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const controlLog = join(guardDir, 'control.log');
    const saved = { log: process.env.CLAUDE_CREDS_GUARD_LOG, home: process.env.HOME, adc: process.env.GOOGLE_APPLICATION_CREDENTIALS };
    process.env.CLAUDE_CREDS_GUARD_LOG = controlLog;
    process.env.HOME = guardDir; // no ~/.config/gcloud/application_default_credentials.json here
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    try {
      const provider = await gcp(name, { endpoint: `127.0.0.1:${fake.port}` });
      const error = await failure(provider.read({ timeoutMs: 10_000 }));
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error.message).toContain('Application Default Credentials');
    } finally {
      process.env.CLAUDE_CREDS_GUARD_LOG = saved.log;
      process.env.HOME = saved.home;
      if (saved.adc !== undefined) process.env.GOOGLE_APPLICATION_CREDENTIALS = saved.adc;
    }
    expect(readFileSync(controlLog, 'utf8')).toMatch(/metadata|169\.254\.169\.254/);
    expect(fake.faults.count('AccessSecretVersion')).toBe(0);
  });
});
