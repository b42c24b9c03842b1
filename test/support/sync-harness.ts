import pino from 'pino';
import type { CommandContext } from '../../src/core/context.js';
import { parseCredentials } from '../../src/core/credentials.js';
import type { SyncSettings } from '../../src/sync/sync-engine.js';

/** What in-process SyncEngine tests share: a silent context, test settings, and polling helpers. */

export const HOUR = 3600_000;
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A silent logger and a short retry policy (`retryDeadlineMs` bounds each store call's retries). */
export function testContext(retryDeadlineMs = 5000): CommandContext {
  return {
    logger: pino({ level: 'silent' }),
    retry: { deadlineMs: retryDeadlineMs, initialDelayMs: 20, maxDelayMs: 200, multiplier: 2 },
    now: Date.now,
  };
}

export function syncSettings(localPath: string, overrides: Partial<SyncSettings> = {}): SyncSettings {
  return {
    localPath,
    pullIntervalMs: 60_000,
    debounceMs: 50,
    pollIntervalMs: 0,
    accessOnly: false,
    owner: undefined,
    warnBeforeMs: [],
    refresh: undefined,
    holderId: `test-${Math.random().toString(36).slice(2, 8)}`,
    leaseSettleMs: 300,
    ...overrides,
  };
}

/** Polls until `check` holds, returning the elapsed time; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - started;
}

/**
 * expiresAt of a stored or written credentials payload; -1 when absent. A full login (with its refresh
 * token) is required unless `requireRefreshToken` is false, as for access-only worker copies.
 */
export function expiresAtOf(value: string | Uint8Array | undefined, requireRefreshToken = true): number {
  if (value === undefined) return -1;
  return parseCredentials(typeof value === 'string' ? value : Buffer.from(value), { requireRefreshToken }).oauth.expiresAt;
}

/**
 * The login (`claudeAiOauth`) of a stored or written document: the store's copy also carries claude-creds'
 * bookkeeping (its generation, a lease), so stores are compared by login, not byte for byte.
 */
export function loginOf(value: string | Uint8Array | undefined): unknown {
  if (value === undefined) return undefined;
  return (JSON.parse(typeof value === 'string' ? value : Buffer.from(value).toString('utf8')) as { claudeAiOauth?: unknown }).claudeAiOauth;
}

export function sameLogin(a: string | Uint8Array | undefined, b: string | Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(loginOf(a)) === JSON.stringify(loginOf(b));
}
