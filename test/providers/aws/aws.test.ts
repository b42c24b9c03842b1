import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../../src/core/credentials.js';
import {
  ConfigError,
  ConflictError,
  DependencyError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
} from '../../../src/core/errors.js';
import { createAwsProvider, safeDetail, versionIdFor } from '../../../src/providers/aws/index.js';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import { withRetry, type RetryPolicy } from '../../../src/core/retry.js';
import { FAKE_AWS_ENV, startFakeAws, type AwsOperation, type RunningFakeAws } from '../../fakes/aws-secrets-manager.js';
import type { FaultKind } from '../../fakes/faults.js';
import { makeFakeCredentials, type FakeCredentials } from '../../support/fake-credentials.js';

const FAST: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };

// The SDK's default chain reads the process environment itself; give it the fake keys and nothing
// that could send it to a profile, a region or an endpoint of the developer's own.
const ISOLATED_KEYS = [
  ...Object.keys(FAKE_AWS_ENV),
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_SESSION_TOKEN',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];
const savedEnv: Record<string, string | undefined> = {};

let fake: RunningFakeAws;
const providers: Provider[] = [];
let counter = 0;

beforeAll(async () => {
  for (const key of ISOLATED_KEYS) {
    savedEnv[key] = process.env[key];
    delete process.env[key];
  }
  Object.assign(process.env, FAKE_AWS_ENV);
  fake = await startFakeAws();
});

afterAll(async () => {
  await fake.close();
  for (const key of ISOLATED_KEYS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

beforeEach(() => fake.faults.reset());

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close?.()));
});

function uniqueName(): string {
  counter += 1;
  return `claude/creds-${counter}`;
}

async function providerFor(secret: string, overrides: Partial<ProviderConfig> = {}): Promise<Provider> {
  const provider = await createAwsProvider({ ...fake.providerConfig(secret), ...overrides });
  providers.push(provider);
  return provider;
}

/** A secret holding `creds`, and a provider pointed at it. */
async function seeded(creds: FakeCredentials = makeFakeCredentials()) {
  const name = uniqueName();
  const first = fake.store.addVersion(name, creds.json);
  return { name, first, creds, provider: await providerFor(name) };
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

function expectNoLeak(error: Error, ...creds: FakeCredentials[]): void {
  const text = `${error.message}\n${String(error.stack)}`;
  for (const token of creds.flatMap((c) => c.tokens)) expect(text).not.toContain(token);
}

function stagesOf(name: string): Record<string, string[]> {
  const versions = fake.store.get(name)?.versions ?? [];
  return Object.fromEntries(versions.map((v) => [v.id, [...v.stages].sort()]));
}

describe('reading', () => {
  test('returns the AWSCURRENT SecretString and its VersionId', async () => {
    const { name, provider, first, creds } = await seeded();
    fake.store.addVersion(name, 'a newer version that is only AWSPENDING', { stages: ['AWSPENDING'] });

    const stored = await provider.read();

    expect(stored).toEqual({ payload: creds.json, version: first.id });
    expect(fake.faults.calls).toEqual(['GetSecretValue']);
  });

  test('signs with the default-chain credentials and the configured region', async () => {
    const { provider } = await seeded();
    await provider.read();
    expect(fake.requests.at(-1)).toEqual({
      operation: 'GetSecretValue',
      accessKeyId: FAKE_AWS_ENV.AWS_ACCESS_KEY_ID,
      signingRegion: 'us-east-1',
    });
  });

  test('returns SecretBinary as bytes', async () => {
    const creds = makeFakeCredentials();
    const name = uniqueName();
    const bytes = new Uint8Array(Buffer.from(creds.json));
    const version = fake.store.addVersion(name, bytes);

    const stored = await (await providerFor(name)).read();

    expect(stored.payload).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(stored.payload as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
    expect(stored.version).toBe(version.id);
    expect(parseCredentials(stored.payload).oauth.accessToken).toBe(creds.accessToken);
  });

  test('returns a base64 SecretString as-is, which the core then parses', async () => {
    const creds = makeFakeCredentials();
    const { provider } = await seeded({ ...creds, json: creds.base64 });

    const stored = await provider.read();

    expect(stored.payload).toBe(creds.base64);
    const parsed = parseCredentials(stored.payload);
    expect(parsed.encoding).toBe('base64');
    expect(parsed.oauth.refreshToken).toBe(creds.refreshToken);
  });

  test('accepts the secret as a full ARN, whose region it signs for when --region is not given', async () => {
    const west = await startFakeAws({ region: 'eu-west-1' });
    try {
      const creds = makeFakeCredentials();
      const version = west.store.addVersion('arn-named', creds.json);
      const provider = await createAwsProvider({ ...west.providerConfig(west.arn('arn-named')), region: undefined });
      providers.push(provider);

      expect(await provider.read()).toEqual({ payload: creds.json, version: version.id });
      expect(provider.location).toBe(west.arn('arn-named'));
      expect(west.requests.at(-1)?.signingRegion).toBe('eu-west-1');
    } finally {
      await west.close();
    }
  });

  test('a missing secret is a NotFoundError naming the secret and the region', async () => {
    const name = uniqueName();
    const error = await caught((await providerFor(name)).read());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`"${name}"`);
    expect(error.message).toContain('us-east-1');
  });

  test('a read that outlives its time budget is aborted as a retryable StoreUnavailableError', async () => {
    const { provider, creds } = await seeded();
    fake.faults.delay(2_000);
    const started = Date.now();

    const error = await caught(provider.read({ timeoutMs: 100 }));

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expectNoLeak(error, creds);
  });
});

describe('compare-and-swap writes', () => {
  test('a write becomes AWSCURRENT, the old version AWSPREVIOUS, and AWSPENDING is cleared', async () => {
    const { name, first, provider } = await seeded();
    const next = makeFakeCredentials();

    const outcome = await provider.write({ payload: next.json, expectedVersion: first.id });

    expect(provider.writes).toBe('compare-and-swap');
    expect(outcome.version).toBe(versionIdFor(first.id, next.json));
    expect(await provider.read()).toEqual({ payload: next.json, version: outcome.version });
    expect(stagesOf(name)).toEqual({ [first.id]: ['AWSPREVIOUS'], [outcome.version as string]: ['AWSCURRENT'] });
    expect(fake.faults.calls).toEqual([
      'DescribeSecret',
      'PutSecretValue',
      'UpdateSecretVersionStage',
      'UpdateSecretVersionStage',
      'GetSecretValue',
    ]);
  });

  test('a stale expectedVersion is refused before anything is written', async () => {
    const { name, first, provider, creds } = await seeded();
    const newer = makeFakeCredentials();
    const second = fake.store.addVersion(name, newer.json);
    const mine = makeFakeCredentials();

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: first.id }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain(second.id);
    expect(fake.store.current(name)?.value).toBe(newer.json);
    expect(fake.store.get(name)?.versions).toHaveLength(2);
    expect(fake.faults.calls).toEqual(['DescribeSecret']);
    expectNoLeak(error, creds, newer, mine);
  });

  test('a writer that slips in between our check and our write keeps its version current', async () => {
    const { name, first, provider, creds } = await seeded();
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    let concurrent = '';
    fake.faults.beforeNextWrite(() => {
      concurrent = fake.store.addVersion(name, theirs.json).id;
    });

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: first.id }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(fake.store.current(name)?.id).toBe(concurrent);
    expect(fake.store.current(name)?.value).toBe(theirs.json);
    // Our version was written as AWSPENDING and is left without any label (deprecated).
    expect(stagesOf(name)[versionIdFor(first.id, mine.json)]).toEqual([]);
    expectNoLeak(error, creds, theirs, mine);
  });

  test('repeating the same write does not create a second version', async () => {
    const { name, first, provider } = await seeded();
    const next = makeFakeCredentials();
    const request = { payload: next.json, expectedVersion: first.id };

    const once = await provider.write(request);
    const twice = await provider.write(request);

    expect(twice.version).toBe(once.version);
    expect(fake.store.get(name)?.versions).toHaveLength(2);
    expect(fake.store.current(name)?.id).toBe(once.version);
  });

  test.each<[string, AwsOperation]>([
    ['its stage move', 'UpdateSecretVersionStage'],
    ['its put', 'PutSecretValue'],
  ])('a write retried after a dropped connection on %s lands exactly one version', async (_, operation) => {
    const { name, first, provider } = await seeded();
    const next = makeFakeCredentials();
    fake.faults.failNext(1, 'reset', operation);

    const outcome = await withRetry('push', (a) => provider.write({ payload: next.json, expectedVersion: first.id }, a), FAST);

    expect(fake.faults.count(operation)).toBeGreaterThanOrEqual(2);
    expect(fake.store.get(name)?.versions).toHaveLength(2);
    expect(stagesOf(name)).toEqual({ [first.id]: ['AWSPREVIOUS'], [outcome.version as string]: ['AWSCURRENT'] });
  });

  test('a retry after the stage move landed only finishes the clean-up', async () => {
    const { name, first, provider } = await seeded();
    const next = makeFakeCredentials();
    const id = versionIdFor(first.id, next.json);
    // The state a first attempt leaves when its final AWSPENDING clean-up never happened.
    fake.store.addVersion(name, next.json, { id, stages: ['AWSCURRENT', 'AWSPENDING'], requestToken: id });

    const outcome = await provider.write({ payload: next.json, expectedVersion: first.id });

    expect(outcome.version).toBe(id);
    expect(stagesOf(name)[id]).toEqual(['AWSCURRENT']);
    expect(fake.faults.calls).toEqual(['DescribeSecret', 'UpdateSecretVersionStage']);
  });

  test('creates the secret when it does not exist yet', async () => {
    const name = uniqueName();
    const provider = await providerFor(name);
    const creds = makeFakeCredentials();
    await expect(provider.read()).rejects.toBeInstanceOf(NotFoundError);

    const outcome = await provider.write({ payload: creds.json, expectedVersion: undefined });

    expect(await provider.read()).toEqual({ payload: creds.json, version: outcome.version });
    expect(fake.faults.count('CreateSecret')).toBe(1);
  });

  test('a create that loses to another writer is a ConflictError and keeps their value', async () => {
    const name = uniqueName();
    const provider = await providerFor(name);
    const theirs = makeFakeCredentials();
    const mine = makeFakeCredentials();
    fake.faults.beforeNextWrite(() => void fake.store.addVersion(name, theirs.json));

    const error = await caught(provider.write({ payload: mine.json, expectedVersion: undefined }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(fake.store.current(name)?.value).toBe(theirs.json);
    expectNoLeak(error, theirs, mine);
  });

  test('a repeated create is answered as the first one', async () => {
    const name = uniqueName();
    const provider = await providerFor(name);
    const creds = makeFakeCredentials();

    const once = await provider.write({ payload: creds.json, expectedVersion: undefined });
    const twice = await provider.write({ payload: creds.json, expectedVersion: undefined });

    expect(twice.version).toBe(once.version);
    expect(fake.store.get(name)?.versions).toHaveLength(1);
  });

  test('a secret named by ARN is not created when missing', async () => {
    const arn = fake.arn(uniqueName());
    const creds = makeFakeCredentials();
    const error = await caught((await providerFor(arn)).write({ payload: creds.json, expectedVersion: undefined }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(arn);
    expect(fake.faults.count('CreateSecret')).toBe(0);
    expectNoLeak(error, creds);
  });
});

describe('failures and the retry policy', () => {
  test('two throttled reads, then success, through withRetry', async () => {
    const { provider, creds } = await seeded();
    fake.faults.failNext(2, 'throttle', 'GetSecretValue');
    const retried: Error[] = [];

    const stored = await withRetry('read', (a) => provider.read(a), FAST, { onRetry: ({ error }) => retried.push(error) });

    expect(stored.payload).toBe(creds.json);
    expect(fake.faults.count('GetSecretValue')).toBe(3);
    expect(retried.map((e) => e.constructor)).toEqual([StoreUnavailableError, StoreUnavailableError]);
    for (const error of retried) expectNoLeak(error, creds);
  });

  test.each<FaultKind>(['reset', 'unavailable', 'internal', 'throttle'])(
    '%s is a retryable StoreUnavailableError',
    async (kind) => {
      const { provider, creds } = await seeded();
      fake.faults.failNext(1, kind, 'GetSecretValue');

      const error = await caught(provider.read());
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expectNoLeak(error, creds);

      fake.faults.failNext(1, kind, 'GetSecretValue');
      await expect(withRetry('read', (a) => provider.read(a), FAST)).resolves.toMatchObject({ payload: creds.json });
    },
  );

  test.each<[string, AwsOperation, 'read' | 'write', RegExp]>([
    ['read', 'GetSecretValue', 'read', /grant secretsmanager:GetSecretValue on the secret/],
    ['write (check)', 'DescribeSecret', 'write', /secretsmanager:PutSecretValue and secretsmanager:UpdateSecretVersionStage/],
    ['write (put)', 'PutSecretValue', 'write', /secretsmanager:PutSecretValue and secretsmanager:UpdateSecretVersionStage/],
    ['write (move)', 'UpdateSecretVersionStage', 'write', /secretsmanager:PutSecretValue and secretsmanager:UpdateSecretVersionStage/],
  ])('access denied on %s is a PermissionDeniedError at once, naming the IAM action', async (_, operation, kind, needed) => {
    const { name, first, provider, creds } = await seeded();
    const next = makeFakeCredentials();
    fake.denied.add(operation);
    try {
      const run = kind === 'read' ? () => provider.read() : () => provider.write({ payload: next.json, expectedVersion: first.id });
      const error = await caught(withRetry(kind, run, FAST));

      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error.message).toMatch(needed);
      expect(error.message).toContain(`secretsmanager:${operation}`);
      expect(error.message).toContain(name);
      expect(fake.faults.count(operation)).toBe(1);
      expect(fake.store.current(name)?.id).toBe(first.id);
      expectNoLeak(error, creds, next);
    } finally {
      fake.denied.delete(operation);
    }
  });

  test('a denied create names secretsmanager:CreateSecret', async () => {
    const creds = makeFakeCredentials();
    fake.denied.add('CreateSecret');
    try {
      const error = await caught((await providerFor(uniqueName())).write({ payload: creds.json, expectedVersion: undefined }));
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error.message).toContain('grant secretsmanager:CreateSecret');
      expectNoLeak(error, creds);
    } finally {
      fake.denied.delete('CreateSecret');
    }
  });

  test('credentials the service does not recognise are a PermissionDeniedError', async () => {
    const strict = await startFakeAws({ accessKeyId: 'AKIASOMEONEELSE00000' });
    try {
      const creds = makeFakeCredentials();
      strict.store.addVersion('s', creds.json);
      const provider = await createAwsProvider(strict.providerConfig('s'));
      providers.push(provider);

      const error = await caught(provider.read());

      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error.message).toContain('UnrecognizedClientException');
      expect(error.message).not.toContain(FAKE_AWS_ENV.AWS_SECRET_ACCESS_KEY);
      expectNoLeak(error, creds);
    } finally {
      await strict.close();
    }
  });

  test('no credentials anywhere in the default chain is a ConfigError, without probing a metadata server', async () => {
    const { name } = await seeded();
    const key = process.env.AWS_ACCESS_KEY_ID;
    const secret = process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      const error = await caught((await providerFor(name)).read());
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/no AWS credentials found.*AWS_ACCESS_KEY_ID/);
      expect(fake.faults.calls).toEqual([]);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = key;
      process.env.AWS_SECRET_ACCESS_KEY = secret;
    }
  });
});

describe('configuration', () => {
  test.each<[string, Partial<ProviderConfig>, RegExp]>([
    ['no --secret', { secret: undefined }, /pass --secret/],
    ['a blank --secret', { secret: '  ' }, /pass --secret/],
    ['an ARN of another service', { secret: 'arn:aws:s3:::bucket' }, /not a Secrets Manager ARN/],
    [
      'a region that contradicts the ARN',
      { secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf', region: 'us-east-1' },
      /does not match the region eu-west-1/,
    ],
    ['an endpoint that is not a URL', { endpoint: 'not a url' }, /--endpoint/],
  ])('%s is a ConfigError', async (_, overrides, message) => {
    const error = await caught(createAwsProvider({ ...fake.providerConfig('x'), ...overrides }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
  });

  test('no region from the flag, the ARN or the environment is a ConfigError', async () => {
    const error = await caught(createAwsProvider({ ...fake.providerConfig('x'), region: undefined }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/--region.*AWS_REGION/);
  });

  test('an SDK that fails to load is a DependencyError naming the package', async () => {
    const error = await caught(
      createAwsProvider(fake.providerConfig('x'), {
        loadSdk: () => Promise.reject(new Error("Cannot find package '@aws-sdk/client-secrets-manager'\nRequire stack: ...")),
      }),
    );
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.message).toContain('@aws-sdk/client-secrets-manager');
    expect(error.message).not.toContain('Require stack');
  });

  test('error details never carry a token or a quoted value', () => {
    const creds = makeFakeCredentials();
    const error = Object.assign(
      new Error(`1 validation error: Value '${creds.json}' at 'secretString' failed; also ${creds.accessToken}`),
      { name: 'ValidationException' },
    );
    const detail = safeDetail(error);
    expect(detail).toMatch(/^ValidationException: 1 validation error/);
    for (const token of creds.tokens) expect(detail).not.toContain(token);
  });
});
