import { beforeAll, describe, expect, test } from 'vitest';
import { InvalidCredentialsError, StoreUnavailableError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import { MAX_STORE_ANSWER_BYTES } from '../../../src/providers/answer-limit.js';
import type { RunningFakeAws } from '../../fakes/aws-secrets-manager.js';
import type { AnswerFault } from '../../fakes/faults.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, caught, expectNoLeak, seeded, useAwsFake } from './support.js';

const awsFake = useAwsFake();
let fake: RunningFakeAws;
beforeAll(() => {
  fake = awsFake();
});

describe('bounded answers', () => {
  test('a 100 MiB answer is refused as too large (exit 65) once the bound is passed, not read whole', async () => {
    const { provider } = await seeded();
    fake.faults.answerNext(1, 'oversize', 'GetSecretValue');

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(error).toMatchObject({ problem: 'too-large', exitCode: 65, retryable: false });
    expect(error.message).toContain(`more than ${MAX_STORE_ANSWER_BYTES} bytes`);
    // The client hung up: the fake got out the bound plus what the socket buffers held, far from 100 MiB.
    await expect.poll(() => fake.faults.oversizeSent.length).toBe(1);
    expect(fake.faults.oversizeSent[0]).toBeLessThan(MAX_STORE_ANSWER_BYTES + 16 * 1024 * 1024);
  });

  test('an answer just under the bound is read', async () => {
    const { provider } = await seeded();
    fake.faults.oversizeBytes = MAX_STORE_ANSWER_BYTES - 1024;
    fake.faults.answerNext(1, 'oversize', 'GetSecretValue');

    const stored = await provider.read();

    expect(typeof stored.payload === 'string' ? stored.payload.length : 0).toBe(MAX_STORE_ANSWER_BYTES - 1024);
  });

  test.each<AnswerFault>(['truncate', 'truncate-unframed'])('a %s answer is a retryable StoreUnavailableError, then read whole', async (kind) => {
    const { provider, creds } = await seeded();
    fake.faults.answerNext(1, kind, 'GetSecretValue');

    const error = await caught(provider.read());
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toMatch(/GetSecretValue .* failed for now/);
    expectNoLeak(error, creds);

    await expect(provider.read()).resolves.toMatchObject({ payload: creds.json });
  });
});

describe('request count', () => {
  test('counts every HTTP request the fake saw, failed attempts included', async () => {
    const { provider, first } = await seeded();
    const before = fake.requests.length;
    expect(provider.requestsSent?.()).toBe(0);
    fake.faults.failNext(2, 'throttle', 'GetSecretValue').failNext(1, 'unavailable', 'PutSecretValue');

    await withRetry('read', (a) => provider.read(a), FAST);
    await withRetry('write', (a) => provider.write({ payload: makeFakeCredentials().json, expectedVersion: first.id }, a), FAST);

    const seen = fake.requests.length - before;
    // 3 reads (2 throttled) + 2 write attempts: describe, put (503); describe, put, move, clear.
    expect(seen).toBe(9);
    expect(provider.requestsSent?.()).toBe(seen);
  });
});
