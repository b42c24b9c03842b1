/**
 * What a running sync (sidecar or `run --sync`) knows about itself: read by the health endpoints and the
 * log. Holds no token values, by construction: only times, counts, versions and messages.
 */

export type SyncOperation = 'pull' | 'push' | 'refresh';

export interface OperationRecord {
  /** When the last attempt finished (ms epoch). */
  readonly at: number;
  readonly ok: boolean;
  /** What happened, e.g. "pushed version 7", "store already newer", or the error message. */
  readonly detail: string;
}

export interface SyncStatus {
  readonly provider: string;
  readonly location: string;
  readonly localPath: string;
  readonly startedAt: number;
  /** expiresAt of the credentials in the local file (ms epoch), when valid. */
  readonly localExpiresAt: number | undefined;
  /** expiresAt of the newest credentials seen in the store. */
  readonly storeExpiresAt: number | undefined;
  /** A valid, unexpired token is in place locally, and nothing below keeps the worker from using it. */
  readonly ready: boolean;
  /** Why not ready, in one line (no token, expired, waiting for the fleet's refresh, login rejected...). */
  readonly notReadyReason?: string | undefined;
  /** When the login itself ends (`refreshTokenExpiresAt`), when known: a new `claude login` is due by then. */
  readonly loginEndsAt?: number | undefined;
  /** What the store's current document is: a login, something invalid (being replaced), or nothing. */
  readonly storeDocument?: 'valid' | 'invalid' | 'missing';
  /** The store's generation of its current login (claude-creds' own count of its writes). */
  readonly storeGeneration?: number | undefined;
  /** The local copy lacks its refresh token (access-only, or around the fleet's refresh). */
  readonly localCopy?: 'full' | 'access-only' | undefined;
  /** This machine's clock runs this far ahead of the fleet's (0 when within an hour); corrected in local copies. */
  readonly clockLeadMs?: number;
  readonly last: Readonly<Partial<Record<SyncOperation, OperationRecord>>>;
  /** When each operation last succeeded (ms epoch): a failure since does not erase it, so alerts can use it. */
  readonly lastSuccess: Readonly<Partial<Record<SyncOperation, number>>>;
  readonly lastError: OperationRecord | undefined;
  readonly counters: Readonly<SyncCounters>;
}

export interface SyncCounters {
  pulls: number;
  pushes: number;
  refreshes: number;
  conflicts: number;
  /** Failures by kind: `pull`, `push`, `refresh`, `invalid-local`, `invalid-store`... */
  failures: Record<string, number>;
  /** Calls made to the store (reads and writes), to show the API cost. */
  storeCalls: number;
}
