import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, DependencyError } from '../../../src/core/errors.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { safeDetail } from '../../../src/providers/aws/errors.js';
import type { ProviderConfig } from '../../../src/core/provider.js';
import { FAKE_AWS_ENV, type RunningFakeAws } from '../../fakes/aws-secrets-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { caught, providerFor, uniqueName, useAwsFake } from './support.js';

const awsFake = useAwsFake();
let fake: RunningFakeAws;
beforeAll(() => {
  fake = awsFake();
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
    expect(error.message).toMatch(/--region.*AWS_REGION.*AWS_DEFAULT_REGION/);
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

describe('region from the environment', () => {
  test.each([
    ['AWS_DEFAULT_REGION alone, as the aws CLI reads it', { AWS_DEFAULT_REGION: 'eu-west-3' }, 'eu-west-3'],
    ['AWS_REGION over AWS_DEFAULT_REGION', { AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'eu-west-3' }, 'ap-south-1'],
  ])('%s', async (_label, env, signingRegion) => {
    const provider = await providerFor(uniqueName(), { region: undefined, env: { ...FAKE_AWS_ENV, ...env } });
    // The real SDK signs for the region chosen; the fake records the SigV4 credential scope.
    await caught(provider.read());
    expect(provider.location).toContain(`secretsmanager:${signingRegion}:`);
    expect(fake.requests.at(-1)?.signingRegion).toBe(signingRegion);
  });

  test('--region wins over both variables', async () => {
    const provider = await providerFor(uniqueName(), { region: 'us-east-1', env: { ...FAKE_AWS_ENV, AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'eu-west-3' } });
    await caught(provider.read());
    expect(fake.requests.at(-1)?.signingRegion).toBe('us-east-1');
  });
});
