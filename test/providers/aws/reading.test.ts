import { beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../../src/core/credentials.js';
import { NotFoundError, StoreUnavailableError } from '../../../src/core/errors.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../../fakes/aws-secrets-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { caught, expectNoLeak, providerFor, seeded, track, uniqueName, useAwsFake } from './support.js';

const awsFake = useAwsFake();
let fake: RunningFakeAws;
beforeAll(() => {
  fake = awsFake();
});

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
      track(provider);

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
