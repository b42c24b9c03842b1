import { describe, expect, test } from 'vitest';
import { DeadlineExceededError, PermissionDeniedError, StoreUnavailableError } from '../../src/core/errors.js';
import { backoffDelay, withRetry, type RetryPolicy } from '../../src/core/retry.js';

const policy: RetryPolicy = { deadlineMs: 10_000, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };

function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    hooks: {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      random: () => 1,
    },
  };
}

describe('withRetry', () => {
  test('retries retryable errors with exponential backoff and returns the first success', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await withRetry(
      'reading',
      async () => {
        calls += 1;
        if (calls < 4) throw new StoreUnavailableError('throttled');
        return 'ok';
      },
      policy,
      clock.hooks,
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    expect(clock.sleeps).toEqual([100, 200, 400]);
  });

  test('never retries an error that is not retryable', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      withRetry(
        'reading',
        async () => {
          calls += 1;
          throw new PermissionDeniedError('denied');
        },
        policy,
        clock.hooks,
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  test('gives up at the deadline with the last cause in the message', async () => {
    const clock = fakeClock();
    const error = await withRetry(
      'reading the secret',
      async () => {
        throw new StoreUnavailableError('503 from the store');
      },
      policy,
      clock.hooks,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as Error).message).toMatch(/reading the secret still failing after \d+ attempts in 10s: 503 from the store/);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(policy.deadlineMs);
  });

  test('tells each attempt how much time is left', async () => {
    const clock = fakeClock();
    const seen: number[] = [];
    let calls = 0;
    await withRetry(
      'x',
      async (attempt) => {
        seen.push(attempt.timeoutMs);
        calls += 1;
        if (calls < 2) throw new StoreUnavailableError('x');
        return 1;
      },
      policy,
      clock.hooks,
    );
    expect(seen).toEqual([10_000, 9_900]);
  });
});

test('caps each attempt at attemptTimeoutMs, so a hung request is cut off and tried again', async () => {
  const clock = fakeClock();
  const seen: number[] = [];
  let calls = 0;
  await withRetry(
    'x',
    async (attempt) => {
      seen.push(attempt.timeoutMs);
      calls += 1;
      if (calls < 3) throw new StoreUnavailableError('timed out');
      return 1;
    },
    { ...policy, attemptTimeoutMs: 3000 },
    clock.hooks,
  );
  expect(seen).toEqual([3000, 3000, 3000]);
});

describe('backoffDelay', () => {
  test.each([
    [1, 1, 100],
    [2, 1, 200],
    [5, 1, 1000],
    [20, 1, 1000],
    [3, 0.5, 200],
    [3, 0, 0],
  ])('attempt %i with jitter %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(policy, attempt, random)).toBe(expected);
  });
});
