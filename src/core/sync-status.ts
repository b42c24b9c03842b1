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
  /** A valid, unexpired token is in place locally. */
  readonly ready: boolean;
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
