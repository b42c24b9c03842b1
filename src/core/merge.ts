/**
 * How a store document and a worker's local file combine, pure. Only the login (`claudeAiOauth`) travels
 * between a worker and the store: every other top-level key of a worker's file (`mcpOAuth`, the MCP
 * servers' own logins, and whatever else the CLI keeps there) stays that worker's own on a pull, and the
 * store's own keys stay the store's on a push. claude-creds' bookkeeping (the refresh lease, the store
 * generation) lives in the store document only and never reaches a local file.
 */
import type { Credentials } from './credentials.js';
import { SYNC_META_KEY, compareLogins, mayReplace, readSyncMeta, type SyncMeta } from './freshness.js';

export type SideState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'valid'; readonly credentials: Credentials };

/** Top-level key of the store document that carries the proactive-refresh lease. Never written locally. */
export const LEASE_KEY = 'claudeCredsRefreshLease';

const STORE_ONLY_KEYS = [LEASE_KEY, SYNC_META_KEY];

export interface RefreshLease {
  readonly holder: string;
  /** ms epoch, in the holder's clock, after which the lease is void. */
  readonly until: number;
}

export function hasRefreshToken(credentials: Credentials): boolean {
  return credentials.oauth.refreshToken !== '';
}

export type SyncDirection = 'push' | 'pull' | 'in-sync';

/**
 * The direction between a local file and the store when nothing else tells how they relate (a file this
 * claude-creds did not write, fetch, a restarted sidecar): the local login is pushed only when it may
 * replace the store's (core/freshness.ts `mayReplace`) and carries its refresh token; otherwise a store
 * login the local file does not hold is pulled. An invalid, blanked or access-only side never wins.
 */
export function decideSync(local: SideState, store: SideState, now: number): SyncDirection {
  const localLogin = local.kind === 'valid' ? local.credentials : undefined;
  const storeLogin = store.kind === 'valid' ? store.credentials : undefined;
  const localFull = localLogin !== undefined && hasRefreshToken(localLogin) ? localLogin : undefined;
  if (localFull !== undefined && (storeLogin === undefined || mayReplace(localFull, storeLogin, now))) return 'push';
  if (storeLogin === undefined) return 'in-sync';
  if (localLogin === undefined) return 'pull';
  if (localLogin.oauth.accessToken === storeLogin.oauth.accessToken) return 'in-sync';
  // An access-only copy newer than the store is kept for its life: pulling would only hand the worker an older token.
  return mayReplace(localLogin, storeLogin, now) ? 'in-sync' : 'pull';
}

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

/**
 * The login of `winner`, with the inner keys only `other` has kept when both are the same login (a CLI that
 * rebuilds `claudeAiOauth` drops keys it does not know, e.g. `refreshTokenExpiresAt` in older versions).
 * Another login's inner keys (its account ids, its end) never ride along.
 */
function mergedLogin(winner: Credentials, other: Credentials | undefined): Json {
  const own = asRecord(winner.document.claudeAiOauth);
  if (other === undefined) return { ...own };
  const order = compareLogins(winner, other);
  if (order === 'newer' || order === 'older') return { ...own };
  const merged: Json = { ...asRecord(other.document.claudeAiOauth), ...own };
  // A wiped file's marker of a login that ended is never carried over to a live one.
  delete merged.loginEnded;
  return merged;
}

/** Same keys and values, ignoring key order: then the winner's exact bytes can be kept. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => sameJson((a as Json)[key], (b as Json)[key]));
}

export interface LocalCopyOptions {
  /** Drop the refresh token: the worker cannot rotate the login or leak the long-lived token. */
  readonly accessOnly: boolean;
  /**
   * Added to `expiresAt` (and the login end): the local clock's offset from the store's writers, when this
   * machine's clock is known to be far off, so the local CLI judges the token's life by its own clock.
   */
  readonly clockOffsetMs?: number;
}

/**
 * The text to write to the local file when pulling `store`: the local file's own top-level keys (from
 * `localDocument`, the file's JSON object even when its login is wiped or invalid), with the store's login.
 * Without a local document, the store's document minus claude-creds' bookkeeping.
 */
export function localCopyText(
  store: Credentials,
  local: { readonly document: Readonly<Json> | undefined; readonly credentials: Credentials | undefined },
  options: LocalCopyOptions,
): string {
  const base: Json = local.document === undefined ? { ...store.document } : { ...local.document };
  for (const key of STORE_ONLY_KEYS) delete base[key];
  const login = mergedLogin(store, local.credentials);
  if (options.accessOnly) delete login.refreshToken;
  const offset = options.clockOffsetMs ?? 0;
  if (offset !== 0) shiftTimes(login, offset);
  const merged: Json = { ...base, claudeAiOauth: login };
  if (local.document === undefined && sameJson(merged, store.document)) return store.text;
  if (local.document !== undefined && local.credentials !== undefined && sameJson(merged, local.document)) return local.credentials.text;
  return JSON.stringify(merged);
}

/**
 * The text to store when pushing `local` over `store`: the store document's own keys, `local`'s login and
 * claude-creds' bookkeeping (`meta`). The lease never survives a push: a push ends a refresh.
 */
export function storeCopyText(local: Credentials, store: Credentials | undefined, meta: SyncMeta, options: { readonly clockOffsetMs?: number } = {}): string {
  // A store without a login (new, or holding garbage) gets the login alone: the worker's other keys are its own.
  const base: Json = store === undefined ? {} : { ...store.document };
  for (const key of STORE_ONLY_KEYS) delete base[key];
  const login = mergedLogin(local, store);
  const offset = options.clockOffsetMs ?? 0;
  if (offset !== 0) shiftTimes(login, -offset);
  return JSON.stringify({ ...base, claudeAiOauth: login, [SYNC_META_KEY]: metaRecord(meta) });
}

/** The whole document `pushed` (an operator's `push`), as the store's next generation. */
export function pushedDocumentText(pushed: Credentials, meta: SyncMeta): string {
  const base: Json = { ...pushed.document };
  for (const key of STORE_ONLY_KEYS) delete base[key];
  return JSON.stringify({ ...base, [SYNC_META_KEY]: metaRecord(meta) });
}

function metaRecord(meta: SyncMeta): Json {
  return {
    generation: meta.generation,
    ...(meta.writtenAt === undefined ? {} : { writtenAt: meta.writtenAt }),
    ...(meta.writer === undefined ? {} : { writer: meta.writer }),
    ...(meta.parent === undefined ? {} : { parent: meta.parent }),
  };
}

function shiftTimes(login: Json, offsetMs: number): void {
  if (typeof login.expiresAt === 'number' && login.expiresAt > 0) login.expiresAt = Math.round(login.expiresAt + offsetMs);
  if (typeof login.refreshTokenExpiresAt === 'number') login.refreshTokenExpiresAt = Math.round(login.refreshTokenExpiresAt + offsetMs);
}

export function readLease(credentials: Credentials): RefreshLease | undefined {
  const lease = asRecord(credentials.document[LEASE_KEY]);
  return typeof lease.holder === 'string' && typeof lease.until === 'number' ? { holder: lease.holder, until: lease.until } : undefined;
}

/** The store document with a lease claimed by `holder`; tokens and generation unchanged. */
export function withLease(store: Credentials, lease: RefreshLease): string {
  return JSON.stringify({ ...store.document, [LEASE_KEY]: { holder: lease.holder, until: lease.until } });
}

export { readSyncMeta };
