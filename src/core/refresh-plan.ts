/**
 * When the fleet's one refresher refreshes, and what every worker's file holds around it. Pure.
 *
 * The Claude CLI refreshes by itself only inside the last 5 minutes (`CLI_REFRESH_WINDOW_MS`). The fleet's
 * refresh must be done, and its result in every worker's file, before any worker's CLI reaches that
 * window: so it is scheduled at `expiresAt - before + jitter`, and `before - jitter` must leave
 * `REACH_MARGIN_MS` beyond the window for the new login to reach every worker (each sidecar's own timer
 * fires in the same span and pulls; the margin covers store latency and retries, a slow token endpoint,
 * and clocks that disagree by up to a minute).
 *
 * Around the refresh, a full worker copy carries no refresh token: from `expiresAt - before -
 * ZONE_LEAD_MS` until the new login arrives, each sidecar writes its worker an access-only copy, so no
 * worker's file ever holds a refresh token the refresher has rotated, and no CLI can present it.
 */
import { CLI_REFRESH_WINDOW_MS } from './freshness.js';

/** Time for a refreshed login to reach every worker, beyond the CLI's own window. */
export const REACH_MARGIN_MS = 2 * 60_000;

/** The smallest `--refresh-before`: the CLI's window plus the reach margin (with no jitter at all). */
export const MIN_REFRESH_BEFORE_MS = CLI_REFRESH_WINDOW_MS + REACH_MARGIN_MS;

/** Worker copies lose their refresh token this long before the earliest moment anyone refreshes. */
export const ZONE_LEAD_MS = 30_000;

/** The longest default jitter: spreads a large fleet's lease claims without delaying the refresh much. */
export const MAX_DEFAULT_JITTER_MS = 5 * 60_000;

export interface RefreshTiming {
  readonly beforeMs: number;
  readonly jitterMs: number;
}

/** Why a `--refresh-before` / `--refresh-jitter` pair cannot work, or undefined when it can. */
export function refreshTimingProblem(timing: RefreshTiming): string | undefined {
  const window = CLI_REFRESH_WINDOW_MS / 60_000;
  const margin = REACH_MARGIN_MS / 60_000;
  if (timing.beforeMs < MIN_REFRESH_BEFORE_MS) {
    return (
      `--refresh-before must be at least ${window + margin}m: the Claude CLI refreshes by itself in the last ${window}m, ` +
      `and the fleet's refresh needs ${margin}m more to reach every worker before that`
    );
  }
  if (timing.jitterMs < 0) return '--refresh-jitter cannot be negative';
  if (timing.beforeMs - timing.jitterMs < MIN_REFRESH_BEFORE_MS) {
    return (
      `--refresh-jitter must leave --refresh-before minus the jitter at least ${window + margin}m ` +
      `(here at most ${Math.floor((timing.beforeMs - MIN_REFRESH_BEFORE_MS) / 1000)}s), so no refresh falls into the CLI's own window`
    );
  }
  return undefined;
}

/** A third of the lead, never more than 5 minutes, and never so much that a refresh lands in the CLI's window. */
export function defaultJitterMs(beforeMs: number): number {
  return Math.max(0, Math.min(MAX_DEFAULT_JITTER_MS, beforeMs / 3, beforeMs - MIN_REFRESH_BEFORE_MS));
}

/** When this sidecar's refresh timer fires (local clock), for a login expiring at `expiresAt` (local clock). */
export function refreshDueAt(expiresAt: number, timing: RefreshTiming, random: number): number {
  return expiresAt - timing.beforeMs + random * timing.jitterMs;
}

/** The start of the span around the refresh in which worker copies carry no refresh token. */
export function zoneStartsAt(expiresAt: number, timing: RefreshTiming): number {
  return expiresAt - timing.beforeMs - ZONE_LEAD_MS;
}

export function inRefreshZone(expiresAt: number, timing: RefreshTiming, now: number): boolean {
  return now >= zoneStartsAt(expiresAt, timing);
}

/** Inside the CLI's own refresh window (or expired): a CLI handed this login would refresh it. */
export function inCliWindow(expiresAt: number, now: number): boolean {
  return now + CLI_REFRESH_WINDOW_MS >= expiresAt;
}

/**
 * When the fleet's refresh has not happened by this moment (the endpoint refuses us, or is down), the
 * lease holder gives its own worker the refresh token back so that worker's CLI refreshes in its window:
 * the fleet falls back to one CLI's own refresh instead of losing the login.
 */
export function fallbackAt(expiresAt: number): number {
  return expiresAt - CLI_REFRESH_WINDOW_MS - 30_000;
}
