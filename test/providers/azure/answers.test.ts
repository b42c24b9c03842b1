import { beforeAll, describe, expect, test } from 'vitest';
import { InvalidCredentialsError, StoreUnavailableError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import { MAX_STORE_ANSWER_BYTES } from '../../../src/providers/answer-limit.js';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import type { AnswerFault } from '../../fakes/faults.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, caught, expectNoSecrets, provider, seed, useAzureFake } from './support.js';

const azureFake = useAzureFake();
let fake: RunningFakeAzure;
beforeAll(() => {
  fake = azureFake();
});

describe('azure provider: bounded answers', () => {
  test('a 100 MiB answer is refused as too large (exit 65) once the bound is passed, not read whole', async () => {
    seed(makeFakeCredentials().json);
    const { provider: azure } = await provider();
    fake.faults.answerNext(1, 'oversize', 'getSecret');

    const error = await caught(azure.read());

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(error).toMatchObject({ problem: 'too-large', exitCode: 65, retryable: false });
    expect(error.message).toContain(`more than ${MAX_STORE_ANSWER_BYTES} bytes`);
    await expect.poll(() => fake.faults.oversizeSent.length).toBe(1);
    expect(fake.faults.oversizeSent[0]).toBeLessThan(MAX_STORE_ANSWER_BYTES + 16 * 1024 * 1024);
  });

  test('an answer just under the bound is read', async () => {
    seed(makeFakeCredentials().json);
    const { provider: azure } = await provider();
    fake.faults.oversizeBytes = MAX_STORE_ANSWER_BYTES - 1024;
    fake.faults.answerNext(1, 'oversize', 'getSecret');

    const stored = await azure.read();

    expect(String(stored.payload).length).toBe(MAX_STORE_ANSWER_BYTES - 1024);
  });

  test.each<AnswerFault>(['truncate', 'truncate-unframed'])('a %s answer is a retryable StoreUnavailableError, then read whole', async (kind) => {
    const creds = makeFakeCredentials();
    seed(creds.json);
    const { provider: azure, credential } = await provider();
    await azure.read();
    fake.faults.answerNext(1, kind, 'getSecret');

    const error = await caught(azure.read());

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expectNoSecrets(error, creds, credential.token);
    await expect(azure.read()).resolves.toMatchObject({ payload: creds.json });
  });
});

describe('azure provider: request count', () => {
  test('counts every request the vault saw, the challenge and failed attempts included', async () => {
    const original = seed(makeFakeCredentials().json);
    const { provider: azure } = await provider();
    const before = fake.requests.length;
    fake.faults.failNext(2, 'throttle', 'getSecret').failNext(1, 'unavailable', 'setSecret');

    await withRetry('read', (a) => azure.read(a), FAST);
    await withRetry('write', (a) => azure.write({ payload: makeFakeCredentials().json, expectedVersion: original }, a), FAST);

    const seen = fake.requests.length - before;
    // challenge + 3 reads (2 throttled); write: check + set (503), then check + set + check + list.
    expect(seen).toBe(10);
    expect(azure.requestsSent?.()).toBe(seen);
  });
});
