/**
 * Which of two Claude logins is newer, without trusting any machine's clock more than it must be.
 *
 * `expiresAt` is computed by whoever refreshed, from their own clock, so it orders documents only as well
 * as the fleet's clocks agree: a worker whose clock runs a day ahead writes documents that look a day
 * "fresher" than every honest one. So the rules go in this order:
 *
 * 1. Store order. Every document claude-creds writes to the store carries `claudeCredsSync.generation`, one
 *    above the document it replaced, and each write is a compare-and-swap (or is checked for a concurrent
 *    writer), so a higher generation is a later state of the store. A sidecar pulls when the store's
 *    generation is above the one it last delivered, and pushes only a refresh of what it delivered
 *    (see `isRefreshOf`): store order alone decides, no clock is read.
 * 2. Logins. `refreshTokenExpiresAt` is the login's end, fixed at sign-in (30 days on) and never moved by a
 *    refresh, so it dates the login itself: a document whose end is more than `SAME_LOGIN_TOLERANCE_MS`
 *    later is a newer login (a `claude login` since), one that much earlier an older login.
 * 3. Clocks, last. Without store order or login ends to go by, the later `expiresAt` wins, except that an
 *    `expiresAt` further ahead of the reader's clock than an access token can live was written by a clock
 *    that runs ahead, and such a document never wins by it.
 *
 * Pure: no clock is read here; callers pass `now`.
 */
import type { Credentials } from './credentials.js';

/** Top-level key of a store document holding claude-creds' own bookkeeping. Never written locally. */
export const SYNC_META_KEY = 'claudeCredsSync';

/** The Claude CLI refreshes only when less than this is left (`Date.now() + 300000 >= expiresAt`). */
export const CLI_REFRESH_WINDOW_MS = 5 * 60_000;

/** An access token lives 8 hours. */
export const ACCESS_TOKEN_LIFETIME_MS = 8 * 3_600_000;

/** An `expiresAt` further than this ahead of the reader's clock cannot come from a clock that agrees with it. */
export const MAX_EXPIRY_AHEAD_MS = ACCESS_TOKEN_LIFETIME_MS + 3_600_000;

/**
 * Two login ends closer than this belong to one login. Within a login the end moves only by the
 * difference between the clocks of whoever signed in and whoever refreshed (the CLI keeps the older
 * value); a new `claude login` moves it by the time since the last one, normally days.
 */
export const SAME_LOGIN_TOLERANCE_MS = 3_600_000;

export interface SyncMeta {
  /** One above the generation of the document this one replaced in the store; 0 when unknown. */
  readonly generation: number;
  /** The writer's clock when it wrote (ms epoch): with `expiresAt`, the token's remaining life at that moment. */
  readonly writtenAt: number | undefined;
  /** Which claude-creds wrote it (a sidecar's holder id), so a reader can tell its own writes apart. */
  readonly writer: string | undefined;
  /** The generation the written login was refreshed from: two writes with the same parent are siblings. */
  readonly parent?: number | undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function readSyncMeta(credentials: Pick<Credentials, 'document'>): SyncMeta {
  const meta = asRecord(credentials.document[SYNC_META_KEY]);
  const generation = meta?.generation;
  const writtenAt = meta?.writtenAt;
  const writer = meta?.writer;
  const parent = meta?.parent;
  return {
    generation: typeof generation === 'number' && Number.isSafeInteger(generation) && generation >= 0 ? generation : 0,
    writtenAt: typeof writtenAt === 'number' && Number.isFinite(writtenAt) ? writtenAt : undefined,
    writer: typeof writer === 'string' ? writer : undefined,
    parent: typeof parent === 'number' && Number.isSafeInteger(parent) && parent >= 0 ? parent : undefined,
  };
}

export type LoginOrder = 'newer' | 'older' | 'same' | 'unknown';

/** How `a`'s login relates to `b`'s, by their login ends; `unknown` when either document does not say. */
export function compareLogins(a: Pick<Credentials, 'oauth'>, b: Pick<Credentials, 'oauth'>): LoginOrder {
  const endA = a.oauth.refreshTokenExpiresAt;
  const endB = b.oauth.refreshTokenExpiresAt;
  if (endA === undefined || endB === undefined) return 'unknown';
  if (endA - endB > SAME_LOGIN_TOLERANCE_MS) return 'newer';
  if (endB - endA > SAME_LOGIN_TOLERANCE_MS) return 'older';
  return 'same';
}

export function sameTokens(a: Pick<Credentials, 'oauth'>, b: Pick<Credentials, 'oauth'>): boolean {
  return a.oauth.accessToken === b.oauth.accessToken && a.oauth.refreshToken === b.oauth.refreshToken;
}

/** `expiresAt` lies further ahead of `now` than any access token lives: the writer's clock runs ahead. */
export function isFromClockAhead(credentials: Pick<Credentials, 'oauth'>, now: number): boolean {
  return credentials.oauth.expiresAt - now > MAX_EXPIRY_AHEAD_MS;
}

/**
 * With no store order to go by (fetch, push, a sidecar's first look at a file it did not write), may
 * `candidate` replace `current`? A newer login may, an older one never; within one login (or when the
 * documents do not say) a later `expiresAt` may, unless the candidate's comes from a clock that runs ahead
 * of `now`. The same tokens never "replace" each other.
 */
export function mayReplace(candidate: Pick<Credentials, 'oauth'>, current: Pick<Credentials, 'oauth'>, now: number): boolean {
  if (sameTokens(candidate, current)) return false;
  const logins = compareLogins(candidate, current);
  if (logins === 'newer') return true;
  if (logins === 'older') return false;
  return candidate.oauth.expiresAt > current.oauth.expiresAt && !isFromClockAhead(candidate, now);
}

/**
 * `local` is what the Claude CLI made of `delivered` by refreshing it: new tokens, the same login or a
 * newer one, and a later expiry in the same clock (the CLI refreshed after it was given `delivered`).
 * A copy of an older document, or of another, older login, is not.
 */
export function isRefreshOf(local: Pick<Credentials, 'oauth'>, delivered: Pick<Credentials, 'oauth'>): boolean {
  if (local.oauth.refreshToken === '' || local.oauth.refreshToken === delivered.oauth.refreshToken) return false;
  if (compareLogins(local, delivered) === 'older') return false;
  return local.oauth.expiresAt > delivered.oauth.expiresAt;
}

/**
 * The freshest of several store documents (versions written since a conflict): the highest generation
 * (when both carry one), then the newer login, then the later expiry. Returns the index.
 */
export function freshestIndex(candidates: ReadonlyArray<Pick<Credentials, 'oauth' | 'document'>>): number {
  let best = -1;
  for (const [index, candidate] of candidates.entries()) {
    if (best < 0) {
      best = index;
      continue;
    }
    const current = candidates[best];
    if (current !== undefined && fresherInStore(candidate, current)) best = index;
  }
  return best;
}

function fresherInStore(a: Pick<Credentials, 'oauth' | 'document'>, b: Pick<Credentials, 'oauth' | 'document'>): boolean {
  const genA = readSyncMeta(a).generation;
  const genB = readSyncMeta(b).generation;
  // A document another tool wrote carries no generation: store order says nothing about it then.
  if (genA > 0 && genB > 0 && genA !== genB) return genA > genB;
  const logins = compareLogins(a, b);
  if (logins !== 'same' && logins !== 'unknown') return logins === 'newer';
  return a.oauth.expiresAt > b.oauth.expiresAt;
}
