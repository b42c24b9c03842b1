/**
 * The simulated Claude CLI's refresh locks (docs/claude-cli-behaviour.md, "The locks"): proper-lockfile
 * directories `<dir>/.oauth_refresh.lock` then `<realpath(dir)>.lock`, the CLI's own 5 retries of 1–2 s,
 * and for 2.1.332 the owner record and the takeover of a holder proven dead.
 */
import { realpath, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import {
  holderProvenGone,
  pidViewTrusted,
  readOwnerRecord,
  removeOwnRecord,
  writeOwnerRecord,
  type ProcessIdentity,
} from './claude-cli-owner-record.js';

export interface LockProfile {
  /** proper-lockfile `stale`: 10 s (2.1.197), 60 s (2.1.332). */
  readonly stale: number;
  /** proper-lockfile `update`; undefined = its default (stale / 2). */
  readonly update: number | undefined;
  /** Writes `.oauth_refresh.lock.owner` and takes over holders proven dead (2.1.332). */
  readonly ownerRecord: boolean;
}

export interface LockTiming {
  /** Retries after the first ELOCKED (the CLI: 5). */
  readonly retries: number;
  /** Each retry waits base + random() * jitter ms (the CLI: 1000 + random * 1000). */
  readonly retryBaseMs: number;
  readonly retryJitterMs: number;
  /** How long the lock mtime must stand still before a takeover is considered (2.1.332: 7500). */
  readonly takeoverWatchMs: number;
}

export const CLI_LOCK_TIMING: LockTiming = { retries: 5, retryBaseMs: 1000, retryJitterMs: 1000, takeoverWatchMs: 7500 };

export type LockFailure = 'lock_busy' | 'lock_timeout';

export type TakeoverOutcome =
  | 'taken_over'
  | 'lock_changed'
  | 'no_owner_record'
  | 'record_mismatch'
  | 'foreign_pid_space'
  | 'pid_view_untrusted'
  | 'holder_not_proven_gone'
  | 'legacy_lock_held';

export interface HeldLocks {
  release(): Promise<void>;
  /** proper-lockfile reported the lock compromised while held. */
  compromised(): boolean;
}

export type LockResult =
  | { readonly held: HeldLocks; readonly takeovers: readonly TakeoverOutcome[] }
  | { readonly failure: LockFailure; readonly takeovers: readonly TakeoverOutcome[] };

export interface LockContext {
  readonly configDir: string;
  readonly profile: LockProfile;
  readonly timing: LockTiming;
  readonly identity: ProcessIdentity;
  readonly random: () => number;
}

type Which = 'main' | 'legacy';
interface Probe {
  readonly which: Which;
  readonly mtimeMs: number | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mainLockPath = (configDir: string): string => join(configDir, '.oauth_refresh.lock');
export const legacyLockPath = async (configDir: string): Promise<string> => `${await realpath(configDir).catch(() => configDir)}.lock`;
const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;
const mtimeOf = (path: string): Promise<number | undefined> => stat(path).then((s) => s.mtimeMs, () => undefined);

async function acquireOnce(context: LockContext): Promise<{ held: HeldLocks } | { contended: Which }> {
  const { configDir, profile, identity } = context;
  let compromised = false;
  const options = {
    realpath: false,
    stale: profile.stale,
    ...(profile.update === undefined ? {} : { update: profile.update }),
    onCompromised: () => {
      compromised = true;
    },
  };
  const mainPath = mainLockPath(configDir);
  let releaseMain: () => Promise<void>;
  try {
    releaseMain = await lockfile.lock(join(configDir, '.oauth_refresh'), { ...options, lockfilePath: mainPath });
  } catch (error) {
    if (codeOf(error) === 'ELOCKED') return { contended: 'main' };
    throw error;
  }
  const legacyPath = await legacyLockPath(configDir);
  let releaseLegacy: (() => Promise<void>) | undefined;
  try {
    releaseLegacy = await lockfile.lock(legacyPath, { ...options, lockfilePath: legacyPath });
  } catch (error) {
    if (codeOf(error) === 'ELOCKED') {
      await releaseMain().catch(() => undefined);
      return { contended: 'legacy' };
    }
    // Any other error (a read-only parent): the CLI goes on with the main lock alone.
  }
  const birthtime = profile.ownerRecord
    ? await writeOwnerRecord(configDir, identity, mainPath, releaseLegacy === undefined ? undefined : legacyPath).catch(() => undefined)
    : undefined;
  return {
    held: {
      compromised: () => compromised,
      release: async () => {
        if (birthtime !== undefined) await removeOwnRecord(configDir, identity.pid, birthtime).catch(() => undefined);
        await releaseLegacy?.().catch(() => undefined);
        await releaseMain().catch(() => undefined);
      },
    },
  };
}

/** 2.1.332's `kR`: every condition the CLI checks before removing a lock as dead, in its order. */
export async function tryTakeover(configDir: string, identity: ProcessIdentity, watchedMtimeMs: number): Promise<TakeoverOutcome> {
  const mainPath = mainLockPath(configDir);
  const record = await readOwnerRecord(configDir);
  if (record === undefined) return (await mtimeOf(mainPath)) === watchedMtimeMs ? 'no_owner_record' : 'lock_changed';
  const recheck = async (): Promise<TakeoverOutcome | undefined> => {
    const now = await stat(mainPath).catch(() => undefined);
    if (now === undefined || now.mtimeMs !== watchedMtimeMs) return 'lock_changed';
    return now.birthtimeMs === record.lockBirthtimeMs ? undefined : 'record_mismatch';
  };
  const changed = await recheck();
  if (changed !== undefined) return changed;
  if (record.pidDomain !== identity.pidDomain || record.pidSpace !== identity.pidSpace) return 'foreign_pid_space';
  if (!pidViewTrusted()) return 'pid_view_untrusted';
  if (!holderProvenGone(record)) return 'holder_not_proven_gone';
  const legacyPath = await legacyLockPath(configDir);
  const legacy = await stat(legacyPath).catch(() => undefined);
  if (legacy !== undefined && legacy.birthtimeMs !== record.legacyLockBirthtimeMs) return 'legacy_lock_held';
  if (legacy !== undefined) await rmdir(legacyPath).catch((error: unknown) => (codeOf(error) === 'ENOENT' ? undefined : Promise.reject(error)));
  const again = await recheck();
  if (again !== undefined) return again;
  await rmdir(mainPath).catch((error: unknown) => (codeOf(error) === 'ENOENT' ? undefined : Promise.reject(error)));
  await removeOwnRecord(configDir, record.pid, record.lockBirthtimeMs);
  return 'taken_over';
}

const sameProbe = (a: Probe, b: Probe): boolean => a.mtimeMs !== undefined && a.which === b.which && a.mtimeMs === b.mtimeMs;

/** Takes both locks the way the CLI's refresh does, or says why not. */
export async function takeRefreshLocks(context: LockContext): Promise<LockResult> {
  const { configDir, timing, random } = context;
  const takeovers: TakeoverOutcome[] = [];
  let tookOver = false;
  for (;;) {
    let first: Probe | undefined;
    let firstAt = 0;
    let restart = false;
    for (let attempt = 0; !restart; attempt += 1) {
      const got = await acquireOnce(context);
      if ('held' in got) return { held: got.held, takeovers };
      const probe = async (): Promise<Probe> => ({
        which: got.contended,
        mtimeMs: await mtimeOf(got.contended === 'main' ? mainLockPath(configDir) : await legacyLockPath(configDir)),
      });
      const current = await probe();
      if (first === undefined) {
        first = current;
        firstAt = Date.now();
      }
      if (attempt < timing.retries) {
        await sleep(timing.retryBaseMs + random() * timing.retryJitterMs);
        continue;
      }
      if (!context.profile.ownerRecord) return { failure: 'lock_timeout', takeovers };
      let latest = current;
      const elapsed = Date.now() - firstAt;
      if (sameProbe(first, latest) && elapsed < timing.takeoverWatchMs) {
        await sleep(timing.takeoverWatchMs - elapsed);
        latest = await probe();
      }
      const holderAlive = !sameProbe(first, latest);
      if (!holderAlive && !tookOver && latest.which === 'main' && latest.mtimeMs !== undefined) {
        const outcome = await tryTakeover(configDir, context.identity, latest.mtimeMs);
        takeovers.push(outcome);
        if (outcome === 'taken_over' || outcome === 'lock_changed') {
          tookOver = true;
          restart = true;
          continue;
        }
      }
      return { failure: holderAlive ? 'lock_busy' : 'lock_timeout', takeovers };
    }
  }
}
