/**
 * The store as the sync engine sees it: one read under the shared retry policy, classified (a valid login,
 * an invalid document with the version it sits at, or nothing), and one write. An invalid document keeps
 * its version so it can be replaced by compare-and-swap instead of blocking the fleet.
 */
import type { CommandContext } from '../core/context.js';
import { parseCredentials, type Credentials } from '../core/credentials.js';
import { InvalidCredentialsError, NotFoundError } from '../core/errors.js';
import { readSyncMeta, type SyncMeta } from '../core/freshness.js';
import type { Provider, WriteOutcome } from '../core/provider.js';
import { withRetry } from '../core/retry.js';

export type StoreView =
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly version: string | undefined; readonly reason: string }
  | { readonly kind: 'valid'; readonly version: string | undefined; readonly credentials: Credentials; readonly meta: SyncMeta };

export interface StoreCallOptions {
  readonly signal?: AbortSignal;
  /** Overrides the context's retry deadline (shutdown flush, lease work). */
  readonly deadlineMs?: number;
}

export async function readStoreView(provider: Provider, context: CommandContext, options: StoreCallOptions = {}): Promise<StoreView> {
  let stored;
  try {
    stored = await withRetry(
      `reading ${provider.location}`,
      (attempt) => provider.read({ signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
      options.deadlineMs === undefined ? context.retry : { ...context.retry, deadlineMs: options.deadlineMs },
      {
        signal: options.signal,
        onRetry: ({ attempt, delayMs, error }) => context.logger.warn({ attempt, delayMs, reason: error.message }, 'store read failed; retrying'),
      },
    );
  } catch (error) {
    if (error instanceof NotFoundError) return { kind: 'missing' };
    throw error;
  }
  try {
    const credentials = parseCredentials(stored.payload);
    return { kind: 'valid', version: stored.version, credentials, meta: readSyncMeta(credentials) };
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return { kind: 'invalid', version: stored.version, reason: error.message };
    throw error;
  }
}

export async function writeStoreText(
  provider: Provider,
  payload: string,
  expectedVersion: string | undefined,
  context: CommandContext,
  options: StoreCallOptions = {},
): Promise<WriteOutcome> {
  return withRetry(
    `writing ${provider.location}`,
    (attempt) => provider.write({ payload, expectedVersion }, { signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
    options.deadlineMs === undefined ? context.retry : { ...context.retry, deadlineMs: options.deadlineMs },
    {
      signal: options.signal,
      onRetry: ({ attempt, delayMs, error }) => context.logger.warn({ attempt, delayMs, reason: error.message }, 'store write failed; retrying'),
    },
  );
}

export function versionOf(view: StoreView): string | undefined {
  return view.kind === 'missing' ? undefined : view.version;
}

export function generationOf(view: StoreView): number {
  return view.kind === 'valid' ? view.meta.generation : 0;
}
