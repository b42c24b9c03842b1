/**
 * The one retry policy shared by every provider: full-jitter exponential backoff bounded by a deadline.
 * Only errors that say they are retryable (throttling, 5xx, network) are tried again; the rest end at
 * once. Each attempt is told how much time is left so providers can bound their SDK's own retries.
 */
import { formatDuration } from './duration.js';
import { DeadlineExceededError, isClaudeCredsError } from './errors.js';

export interface RetryPolicy {
  /** Total time allowed for all attempts, in ms. */
  readonly deadlineMs: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  /**
   * The most one attempt may take, so that one hung request cannot eat the whole deadline: it is cut
   * off and tried again while time is left.
   */
  readonly attemptTimeoutMs?: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  deadlineMs: 60_000,
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  multiplier: 2,
  attemptTimeoutMs: 15_000,
};

export interface Attempt {
  /** 1-based. */
  readonly number: number;
  readonly signal: AbortSignal;
  /** Milliseconds left before the deadline. */
  readonly timeoutMs: number;
}

export interface RetryHooks {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: Error }) => void;
  /** Aborting it ends the retries at once (shutdown): the attempt in flight is aborted, no new one starts. */
  readonly signal?: AbortSignal;
}

export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  return Math.round(ceiling * random);
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function abortableSleep(sleep: (ms: number) => Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void sleep(ms).then(done);
  });
}

export async function withRetry<T>(
  what: string,
  operation: (attempt: Attempt) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? defaultSleep;
  const random = hooks.random ?? Math.random;
  const deadline = now() + policy.deadlineMs;
  const outer = hooks.signal;

  for (let number = 1; ; number += 1) {
    if (outer?.aborted) throw new DeadlineExceededError(`${what} was cut short: shutting down`);
    const timeoutMs = Math.max(1, Math.min(deadline - now(), policy.attemptTimeoutMs ?? Number.POSITIVE_INFINITY));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    timer.unref?.();
    const abort = (): void => controller.abort();
    outer?.addEventListener('abort', abort, { once: true });
    try {
      return await operation({ number, signal: controller.signal, timeoutMs });
    } catch (error) {
      if (outer?.aborted) throw new DeadlineExceededError(`${what} was cut short: shutting down`, { cause: error });
      if (!isClaudeCredsError(error) || !error.retryable) throw error;
      // A server that says how long to wait (429 Retry-After) is waited for, never hammered sooner.
      const asked = (error as { retryAfterMs?: unknown }).retryAfterMs;
      const delayMs = Math.max(backoffDelay(policy, number, random()), typeof asked === 'number' ? asked : 0);
      if (now() + delayMs >= deadline) {
        throw new DeadlineExceededError(
          `${what} still failing after ${number} attempt${number === 1 ? '' : 's'} in ${formatDuration(policy.deadlineMs)}: ${error.message}; raise --timeout or check the store`,
          { cause: error },
        );
      }
      hooks.onRetry?.({ attempt: number, delayMs, error });
      await (outer === undefined ? sleep(delayMs) : abortableSleep(sleep, delayMs, outer));
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', abort);
    }
  }
}
