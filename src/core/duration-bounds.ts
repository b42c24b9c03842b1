/**
 * The limits of every duration flag, with the reason a user sees when a value falls outside them. A
 * duration is only ever parsed through these: `--pull-interval 10ms` made a sidecar read the store 237
 * times in 3 s, and `0` silently turned pulling off while --dry-run said "pull every 0s". Where a flag
 * can be turned off it says so with the word `off`; `0` is refused with a message naming `off`, so a
 * value never means "off" by accident.
 */
import { formatDuration, parseDuration, parseDurationList } from './duration.js';
import { UsageError } from './errors.js';

export interface DurationBound {
  readonly flag: string;
  readonly minMs: number;
  readonly maxMs: number;
  /** Why the minimum: shown when a value is below it. */
  readonly whyMin: string;
  /** Why the maximum: shown when a value is above it. */
  readonly whyMax: string;
  /** What `off` turns off, when the flag may be turned off; undefined when it may not. */
  readonly off?: string;
}

/** A bound of a flag that cannot be turned off. */
export type RequiredDurationBound = DurationBound & { readonly off?: undefined };

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Node's timers hold at most 2^31-1 ms (24.8 days); a longer delay fires after 1 ms, i.e. at once and
 * again and again. Every interval that becomes a timer stays below it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The Claude CLI refreshes its own token only in the last 5 minutes before `expiresAt`. */
export const CLAUDE_CLI_REFRESH_WINDOW_MS = 5 * MINUTE;

export const DURATION_BOUNDS = {
  timeout: {
    flag: '--timeout',
    minMs: SECOND,
    maxMs: HOUR,
    // A store call with a TLS handshake takes a few hundred ms; below a second the first attempt is
    // routinely cut short and there is no room for a retry.
    whyMin: 'a store call with its TLS handshake can take a few hundred ms, and retries need room',
    // The init container or wrapper blocks its pod meanwhile; the orchestrator's restart is the better retry.
    whyMax: 'beyond that the init container or wrapper is better restarted by its orchestrator',
  },
  flushTimeout: {
    flag: '--flush-timeout',
    minMs: SECOND,
    // Kubernetes kills after terminationGracePeriodSeconds (30 s by default) and Docker after 10 s;
    // ten minutes leaves room for a raised grace period without letting a shutdown hang.
    maxMs: 10 * MINUTE,
    whyMin: 'a flush is a read and a write of the store',
    whyMax: 'container runtimes kill a stopping container long before (Kubernetes after 30s, Docker after 10s, by default)',
  },
  pullInterval: {
    flag: '--pull-interval',
    // Every pull is one billed read of the store (AWS: $0.05 per 10,000 calls); at 1 s that is already
    // 86,400 reads a day per sidecar. Pushes and conflicts pull at once anyway, so a short interval buys little.
    minMs: SECOND,
    // An access token lives about 8 hours: a day between pulls already lets a worker miss a whole
    // refresh cycle of another one. Also well below the timer limit.
    maxMs: DAY,
    whyMin: 'each pull is a billed read of the store',
    whyMax: 'an access token lives about 8h, so a longer interval misses the tokens other workers refresh; use off to turn pulling off',
    // Off: newer tokens from other workers then arrive only when a push of ours finds the store newer.
    off: 'pulling',
  },
  pollInterval: {
    flag: '--poll-interval',
    // The directory watch sees local writes at once; the stat poll is only the fallback for writes
    // made on other NFS clients. Polling under a second keeps an idle sidecar awake for nothing.
    minMs: SECOND,
    maxMs: HOUR,
    whyMin: 'the directory watch sees local writes at once; the poll is only the fallback for NFS',
    whyMax: 'a write on another NFS client would go unseen for longer than a token refresh takes to matter',
    off: 'the stat poll',
  },
  refreshJitter: {
    flag: '--refresh-jitter',
    // 0 is a value here, not "off": one sidecar alone needs no spread.
    minMs: 0,
    maxMs: HOUR,
    whyMin: 'it is a delay',
    whyMax: 'the refresh would start too close to the token\'s expiry',
  },
  cacheTtl: {
    flag: '--cache-ttl',
    // Below a second the cache serves nothing: every helper call becomes a store read.
    minMs: SECOND,
    // A key rotated in the store is picked up after at most this long (a re-call after a 401 re-reads at once).
    maxMs: DAY,
    whyMin: 'below that every call of the helper reads the store',
    whyMax: 'a key rotated in the store would be served from the cache for longer than a day',
  },
  recallWindow: {
    flag: '--recall-window',
    minMs: SECOND,
    // The Claude CLI calls its helper every 5 minutes by default (CLAUDE_CODE_API_KEY_HELPER_TTL_MS), and
    // the window is capped at half of that TTL anyway; an hour covers a TTL raised to two hours.
    maxMs: HOUR,
    whyMin: 'the CLI\'s re-call after a 401 comes within about a second',
    whyMax: 'a longer window takes the CLI\'s regular calls for re-calls after a 401 (it is capped at half of CLAUDE_CODE_API_KEY_HELPER_TTL_MS too)',
    off: 'the re-read on a quick re-call',
  },
  warnBefore: {
    flag: '--warn-before',
    minMs: SECOND,
    // A setup token (kind oauth-token) lives about a year; warning a few months ahead is reasonable.
    maxMs: 366 * DAY,
    whyMin: 'a threshold of 0 is never crossed before expiry',
    whyMax: 'no credential claude-creds delivers lives longer than a year (a setup token)',
  },
} as const satisfies Record<string, DurationBound>;

/**
 * The bound of --refresh-before. Kept apart as the hook for its relation to the Claude CLI's own refresh
 * window (CLAUDE_CLI_REFRESH_WINDOW_MS): the refresh-flags work of issue 12 sets the minimum relative to
 * it. Until then only the general sanity limits apply.
 */
export function refreshBeforeBound(): RequiredDurationBound {
  return {
    flag: '--refresh-before',
    minMs: SECOND,
    maxMs: DAY,
    whyMin: 'it is a time before expiry',
    whyMax: 'an access token lives about 8h: refreshing more than a day before expiry would refresh all the time',
  };
}

/** A bounded duration, or `undefined` when the flag allows `off` and was given `off`. */
export function parseBoundedDuration(text: string, bound: DurationBound): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'off') {
    if (bound.off !== undefined) return undefined;
    throw new UsageError(`${bound.flag} cannot be turned off; give a duration from ${formatDuration(bound.minMs)} to ${formatDuration(bound.maxMs)}`);
  }
  const ms = parseDuration(text, bound.flag);
  checkBound(ms, text, bound);
  return ms;
}

/** A bounded duration that cannot be off (the type says so). */
export function parseRequiredDuration(text: string, bound: RequiredDurationBound): number {
  return parseBoundedDuration(text, bound) as number;
}

/** A comma list of bounded durations (`1h,10m`), each checked. */
export function parseBoundedDurationList(text: string, bound: DurationBound): number[] {
  const values = parseDurationList(text, bound.flag);
  const parts = text.split(',').filter((part) => part.trim() !== '');
  values.forEach((ms, index) => checkBound(ms, parts[index] ?? text, bound));
  return values;
}

function checkBound(ms: number, text: string, bound: DurationBound): void {
  const given = `${bound.flag} ${text.trim()}`;
  if (ms === 0 && bound.minMs > 0) {
    throw new UsageError(
      bound.off === undefined
        ? `${given}: a duration of at least ${formatDuration(bound.minMs)} is needed (${bound.whyMin})`
        : `${given}: write "off" to turn ${bound.off} off, or give at least ${formatDuration(bound.minMs)} (${bound.whyMin})`,
    );
  }
  if (ms < bound.minMs) throw new UsageError(`${given} is too short: at least ${formatDuration(bound.minMs)} (${bound.whyMin})`);
  if (ms > bound.maxMs) throw new UsageError(`${given} is too long: at most ${formatDuration(bound.maxMs)} (${bound.whyMax})`);
}
