import { beforeAll, describe, expect, test } from 'vitest';
import { InvalidCredentialsError, StoreUnavailableError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import { MAX_STORE_ANSWER_BYTES } from '../../../src/providers/answer-limit.js';
import type { RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { CALL, SHORT_POLICY, expectNoSecrets, failure, freshName, gcp, seed, useGcpFake } from './support.js';

const gcpFake = useGcpFake();
let fake: RunningFakeGcp;
beforeAll(() => {
  fake = gcpFake();
});

describe('gcp provider: bounded answers', () => {
  test('a 100 MiB payload is refused as too large (exit 65) from its announced length', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const provider = await gcp(name);
    fake.faults.answerNext(1, 'oversize', 'AccessSecretVersion');

    const error = await failure(provider.read(CALL));

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(error).toMatchObject({ problem: 'too-large', exitCode: 65, retryable: false });
    expect(error.message).toContain(`more than ${MAX_STORE_ANSWER_BYTES} bytes`);
  });

  test('a payload just under the bound is read', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const provider = await gcp(name);
    fake.faults.oversizeBytes = MAX_STORE_ANSWER_BYTES - 1024;
    fake.faults.answerNext(1, 'oversize', 'AccessSecretVersion');

    const stored = await provider.read(CALL);

    expect(Buffer.from(stored.payload).length).toBe(MAX_STORE_ANSWER_BYTES - 1024);
  });

  test('an answer cut off mid-message is a retryable StoreUnavailableError, then read whole', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, creds.json);
    const provider = await gcp(name);
    fake.faults.answerNext(1, 'truncate', 'AccessSecretVersion');

    const error = await failure(provider.read(CALL));

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expectNoSecrets(error, creds);
    expect(Buffer.from((await provider.read(CALL)).payload).toString('utf8')).toBe(creds.json);
  });
});

describe('gcp provider: request count', () => {
  test('counts every RPC the fake saw, failed attempts included', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const provider = await gcp(name);
    const before = fake.faults.calls.length;
    fake.faults.failNext(2, 'unavailable', 'AccessSecretVersion').failNext(1, 'throttle', 'AddSecretVersion');

    await withRetry('read', (a) => provider.read(a), SHORT_POLICY);
    await withRetry('write', (a) => provider.write({ payload: makeFakeCredentials().json, expectedVersion: '1' }, a), SHORT_POLICY);

    const seen = fake.faults.calls.length - before;
    // 3 reads (2 refused) + a write tried twice: check + add (throttled), check + add + check.
    expect(seen).toBe(8);
    expect(provider.requestsSent?.()).toBe(seen);
  });
});
