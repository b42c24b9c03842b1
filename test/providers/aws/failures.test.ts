import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, PermissionDeniedError, StoreUnavailableError } from '../../../src/core/errors.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { withRetry } from '../../../src/core/retry.js';
import { FAKE_AWS_ENV, startFakeAws, type AwsOperation, type RunningFakeAws } from '../../fakes/aws-secrets-manager.js';
import type { FaultKind } from '../../fakes/faults.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, caught, expectNoLeak, providerFor, seeded, track, uniqueName, useAwsFake } from './support.js';

const awsFake = useAwsFake();
let fake: RunningFakeAws;
beforeAll(() => {
  fake = awsFake();
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
      const run = kind === 'read' ? (): Promise<unknown> => provider.read() : (): Promise<unknown> => provider.write({ payload: next.json, expectedVersion: first.id });
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
      track(provider);

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
