/**
 * Reading and writing the store under the shared retry policy, with parsing and logging in one place so
 * fetch, push and sync all behave the same way.
 */
import { parseCredentials, type Credentials } from '../core/credentials.js';
import { NotFoundError } from '../core/errors.js';
import type { Provider, WriteOutcome } from '../core/provider.js';
import { withRetry } from '../core/retry.js';
import type { CommandContext } from '../core/context.js';

export interface StoreSnapshot {
  readonly credentials: Credentials;
  readonly version: string | undefined;
}

export async function readStore(provider: Provider, context: CommandContext): Promise<StoreSnapshot> {
  const stored = await withRetry(
    `reading ${provider.location}`,
    (attempt) => provider.read({ signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
    context.retry,
    { onRetry: ({ attempt, delayMs, error }) => context.logger.warn({ attempt, delayMs, reason: error.message }, 'store read failed; retrying') },
  );
  return { credentials: parseCredentials(stored.payload), version: stored.version };
}

/** Like readStore, but a secret that does not exist yet is `undefined` instead of an error. */
export async function readStoreIfPresent(provider: Provider, context: CommandContext): Promise<StoreSnapshot | undefined> {
  try {
    return await readStore(provider, context);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

export async function writeStore(
  provider: Provider,
  payload: string,
  expectedVersion: string | undefined,
  context: CommandContext,
): Promise<WriteOutcome> {
  const outcome = await withRetry(
    `writing ${provider.location}`,
    (attempt) => provider.write({ payload, expectedVersion }, { signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
    context.retry,
    { onRetry: ({ attempt, delayMs, error }) => context.logger.warn({ attempt, delayMs, reason: error.message }, 'store write failed; retrying') },
  );
  // Trouble after the write landed (a clean-up without permission): worth a warning, not a failure.
  for (const warning of outcome.warnings ?? []) context.logger.warn({ location: provider.location }, warning);
  return outcome;
}
