import { beforeAll, describe, expect, test } from 'vitest';
import { InvalidCredentialsError, StoreUnavailableError } from '../../../src/core/errors.js';
import { withRetry } from '../../../src/core/retry.js';
import { MAX_STORE_ANSWER_BYTES } from '../../../src/providers/answer-limit.js';
import type { AnswerFault } from '../../fakes/faults.js';
import type { RunningFakeVault } from '../../fakes/vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { FAST, caught, expectNoLeak, loginEnv, providerFor, seeded, uniqueName, useVaultFake } from './support.js';

const vaultFake = useVaultFake();
let fake: RunningFakeVault;
beforeAll(() => {
  fake = vaultFake();
});

describe('bounded answers', () => {
  test('a 100 MiB answer is refused as too large (exit 65) once the bound is passed, and not retried', async () => {
    const { provider } = await seeded();
    fake.faults.answerNext(1, 'oversize', 'kv-read');

    const error = await caught(withRetry('read', (a) => provider.read(a), FAST));

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(error).toMatchObject({ problem: 'too-large', exitCode: 65, retryable: false });
    expect(error.message).toContain(`more than ${MAX_STORE_ANSWER_BYTES} bytes`);
    expect(fake.faults.count('kv-read')).toBe(1);
    await expect.poll(() => fake.faults.oversizeSent.length).toBe(1);
    expect(fake.faults.oversizeSent[0]).toBeLessThan(MAX_STORE_ANSWER_BYTES + 16 * 1024 * 1024);
  });

  test('an answer just under the bound is read', async () => {
    const { provider } = await seeded();
    fake.faults.oversizeBytes = MAX_STORE_ANSWER_BYTES - 1024;
    fake.faults.answerNext(1, 'oversize', 'kv-read');

    const stored = await provider.read();

    expect(String(stored.payload).length).toBe(MAX_STORE_ANSWER_BYTES - 1024);
  });

  test.each<AnswerFault>(['truncate', 'truncate-unframed'])('a %s answer is a retryable StoreUnavailableError, then read whole', async (kind) => {
    const { provider, creds } = await seeded();
    fake.faults.answerNext(1, kind, 'kv-read');

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toMatch(/failed for now/);
    expectNoLeak(error, [creds]);
    await expect(provider.read()).resolves.toMatchObject({ payload: creds.json });
  });
});

describe('request count', () => {
  test('counts every request Vault saw, logins and failed attempts included', async () => {
    const name = uniqueName();
    const version = fake.putField(name, makeFakeCredentials().json);
    const provider = await providerFor(name, { env: loginEnv('kubernetes') });
    const before = fake.requests.length;
    fake.faults.failNext(2, 'throttle', 'kv-read').failNext(1, 'unavailable', 'kubernetes-login');

    await withRetry('read', (a) => provider.read(a), FAST);
    await withRetry('write', (a) => provider.write({ payload: makeFakeCredentials().json, expectedVersion: String(version) }, a), FAST);

    const seen = fake.requests.length - before;
    // login (503), login, read x3 (2 throttled), write: read + post.
    expect(seen).toBe(7);
    expect(provider.requestsSent?.()).toBe(seen);
  });
});
