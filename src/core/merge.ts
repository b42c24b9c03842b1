/**
 * The sync rules, pure: which way credentials flow between the local file and the store, and how two
 * documents combine. Freshness decides (later expiresAt wins); an invalid or blanked side never wins;
 * unknown keys of both sides survive; an access-only worker copy is never pushed.
 */
import { isNewer, type Credentials } from './credentials.js';

export type SideState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'valid'; readonly credentials: Credentials };

export type SyncDirection = 'push' | 'pull' | 'in-sync';

/** Top-level key of the store document that carries the proactive-refresh lease. Never written locally. */
export const LEASE_KEY = 'claudeCredsRefreshLease';

export interface RefreshLease {
  readonly holder: string;
  /** ms epoch after which the lease is void. */
  readonly until: number;
}

export function hasRefreshToken(credentials: Credentials): boolean {
  return credentials.oauth.refreshToken !== '';
}

export function decideSync(local: SideState, store: SideState): SyncDirection {
  const localFull = local.kind === 'valid' && hasRefreshToken(local.credentials) ? local.credentials : undefined;
  const storeValid = store.kind === 'valid' ? store.credentials : undefined;
  if (localFull && (!storeValid || isNewer(localFull, storeValid))) return 'push';
  if (storeValid && (local.kind !== 'valid' || isNewer(storeValid, local.credentials))) return 'pull';
  return 'in-sync';
}

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

/**
 * `newer` with the keys only `older` has added back, at the top level and inside claudeAiOauth (the CLI
 * rebuilds claudeAiOauth and drops inner keys it does not know). The lease never travels.
 */
export function mergeDocuments(newer: Credentials, older: Credentials | undefined): Json {
  const top: Json = { ...asRecord(older?.document), ...newer.document };
  top.claudeAiOauth = { ...asRecord(older?.document.claudeAiOauth), ...asRecord(newer.document.claudeAiOauth) };
  delete top[LEASE_KEY];
  return top;
}

/** Same keys and values, ignoring key order: then the newer side's exact bytes can be kept. */
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
}

/** The text to write to the local file when pulling `store` over `local`. */
export function localCopyText(store: Credentials, local: Credentials | undefined, options: LocalCopyOptions): string {
  const merged = mergeDocuments(store, local);
  if (options.accessOnly) delete asRecord(merged.claudeAiOauth).refreshToken;
  return sameJson(merged, store.document) ? store.text : JSON.stringify(merged);
}

/** The text to store when pushing `local` over `store`. */
export function storeCopyText(local: Credentials, store: Credentials | undefined): string {
  const merged = mergeDocuments(local, store);
  return sameJson(merged, local.document) ? local.text : JSON.stringify(merged);
}

export function readLease(credentials: Credentials): RefreshLease | undefined {
  const lease = asRecord(credentials.document[LEASE_KEY]);
  return typeof lease.holder === 'string' && typeof lease.until === 'number' ? { holder: lease.holder, until: lease.until } : undefined;
}

/** The store document with a lease claimed by `holder` until `until`; tokens unchanged. */
export function withLease(store: Credentials, lease: RefreshLease): string {
  return JSON.stringify({ ...store.document, [LEASE_KEY]: { holder: lease.holder, until: lease.until } });
}
