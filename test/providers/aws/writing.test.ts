import { beforeAll, describe, expect, test } from 'vitest';
import { ConflictError, NotFoundError } from '../../../src/core/errors.js';
import { versionIdFor } from '../../../src/providers/aws/index.js';
import { withRetry } from '../../../src/core/retry.js';
import type { AwsOperation, RunningFakeAws } from '../../fakes/aws-secrets-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, caught, expectNoLeak, providerFor, seeded, stagesOf, uniqueName, useAwsFake } from './support.js';

const awsFake = useAwsFake();
let fake: RunningFakeAws;
beforeAll(() => {
  fake = awsFake();
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
