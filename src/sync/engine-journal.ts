/**
 * The sync engine's record of itself: the last attempt and success of each operation, failure counts,
 * and the warnings that must come once (a threshold crossed, a store document turned invalid, a login the
 * CLI rejected). What the health endpoints and the log show comes from here; it never holds a token.
 */
import type { CommandContext } from '../core/context.js';
import { formatDuration } from '../core/duration.js';
import type { OperationRecord, SyncCounters, SyncOperation } from '../core/sync-status.js';

/** A rejected login that a newer one has not replaced within this long is an ERROR, not a passing race. */
export const REJECTED_ERROR_AFTER_MS = 2 * 60_000;

export class EngineJournal {
  readonly last: Partial<Record<SyncOperation, OperationRecord>> = {};
  readonly lastSuccess: Partial<Record<SyncOperation, number>> = {};
  lastError: OperationRecord | undefined;
  readonly counters: SyncCounters = { pulls: 0, pushes: 0, refreshes: 0, conflicts: 0, failures: {}, storeCalls: 0 };
  private readonly warned = new Set<string>();

  constructor(private readonly context: CommandContext) {}

  record(operation: SyncOperation, ok: boolean, detail: string): void {
    const at = this.context.now();
    this.last[operation] = { at, ok, detail };
    if (ok) this.lastSuccess[operation] = at;
  }

  fail(kind: string, detail: string): void {
    this.counters.failures[kind] = (this.counters.failures[kind] ?? 0) + 1;
    const record = { at: this.context.now(), ok: false, detail };
    this.lastError = record;
    if (kind === 'pull' || kind === 'push' || kind === 'refresh') this.last[kind] = record;
  }

  /** Logs `message` once per `key` (a threshold for one expiry, one invalid store version...). */
  warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.context.logger.warn(fields, message);
  }

  /** One warning for each threshold the access token or the login's end has crossed. */
  warnThresholds(what: 'token' | 'login', endsAt: number | undefined, thresholds: readonly number[], now: number): void {
    if (endsAt === undefined) return;
    const left = endsAt - now;
    for (const threshold of thresholds) {
      if (left > threshold) continue;
      const subject = what === 'token' ? 'the local access token' : 'the login (refresh token)';
      const advice = what === 'login' ? ': run `claude login` and `claude-creds push` before then, or every worker is logged out' : '';
      this.warnOnce(
        `${what}:${endsAt}:${threshold}`,
        { [what === 'token' ? 'expiresAt' : 'loginEndsAt']: new Date(endsAt).toISOString(), left: formatDuration(left) },
        left <= 0 ? `${subject} has expired${advice}` : `${subject} expires in ${formatDuration(left)}${advice}`,
      );
    }
  }
}
