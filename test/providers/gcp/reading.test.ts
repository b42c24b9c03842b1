import { beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../../src/core/credentials.js';
import { ConfigError, IntegrityError, NotFoundError, ReadOnlyProviderError } from '../../../src/core/errors.js';
import { createGcpProvider } from '../../../src/providers/gcp/index.js';
import type { RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { CALL, expectNoSecrets, failure, freshName, gcp, seed, useGcpFake } from './support.js';

const gcpFake = useGcpFake();
let fake: RunningFakeGcp;
beforeAll(() => {
  fake = gcpFake();
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
