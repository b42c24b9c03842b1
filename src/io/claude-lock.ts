/**
 * The Claude CLI's own lock protocol for its config directory (docs/claude-cli-behaviour.md), so that
 * claude-creds never writes the credentials file while the CLI refreshes or writes it, and the CLI never
 * refreshes while claude-creds does:
 * - `<dir>/.oauth_refresh.lock` (main) and `<realpath(dir)>.lock` (legacy): proper-lockfile lock
 *   directories the CLI takes around a refresh. Taken main first; a contended legacy lock releases the main
 *   one and the whole attempt starts again, as the CLI does.
 * - `<dir>/.oauth_refresh.lock.owner`: the holder's pid record (CLI 2.1.332 and later). We write one in
 *   the CLI's own schema, so a CLI in our PID namespace checks our real pid and a CLI in another one sees a
 *   foreign namespace: neither takes our lock over as dead. A record the CLI wrote is honoured: its lock
 *   is never stolen while its holder may be alive.
 * - `<dir>/.storage-write.lock`: the CLI's lock around every read-modify-write of the file; taken around
 *   each of our writes so neither side overwrites the other's with an older document.
 * Held locks are touched every 2 s: 2.1.197 steals a lock untouched for 10 s, 2.1.332 suspects one
 * untouched for 7.5 s.
 */
import { randomBytes } from 'node:crypto';
import { constants, readFileSync, readlinkSync } from 'node:fs';
import { immediateLockFs, open, realpath, rename, rm, stat, unlink } from './immediate-fs.js';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SafeDirectory } from './safe-directory.js';
import lockfile from 'proper-lockfile';
import { StoreUnavailableError, describeCause } from '../core/errors.js';

/** How often a held lock's mtime is refreshed. */
const UPDATE_MS = 2000;
/** A lock whose mtime is older than this is a dead holder's: 2.1.197 and proper-lockfile's default. */
const STALE_MS = 10_000;
/** ... unless its holder left a 2.1.332 owner record: that CLI waits 60 s, and so do we. */
const STALE_WITH_RECORD_MS = 60_000;
/** A record-holder whose lock did not move for this long and whose pid is proven gone is dead (as the CLI decides). */
const DEAD_HOLDER_QUIET_MS = 7500;
const STORAGE_STALE_MS = 15_000;
/** Default bound on waiting for a held lock. */
const DEFAULT_WAIT_MS = 30_000;

/**
 * A lock directory that cannot be made at all (a read-only filesystem, a directory we may not write, a
 * full disk): no Claude CLI can write the file there either, so there is nothing to exclude, and the
 * write itself then says what is in the way.
 */
const UNLOCKABLE = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']);
const noLock = async (): Promise<void> => undefined;

export interface ClaudeLockPaths {
  readonly refreshLock: string;
  /** '' when there is none to take (as root, without a parent directory we can hold). */
  readonly legacyLock: string;
  readonly ownerRecord: string;
  readonly storageLock: string;
}

export async function claudeLockPaths(configDir: string): Promise<ClaudeLockPaths> {
  const real = await realpath(configDir).catch(() => configDir);
  return {
    refreshLock: join(configDir, '.oauth_refresh.lock'),
    legacyLock: `${real}.lock`,
    ownerRecord: join(configDir, '.oauth_refresh.lock.owner'),
    storageLock: join(configDir, '.storage-write.lock'),
  };
}

/**
 * The lock paths to use, and what to close after. As root, the directory may belong to the worker, who
 * could swap it for a link while we make lock directories and write the owner record in it: then every
 * lock entry goes through the directory held open (`/proc/self/fd/N/...`, see safe-directory.ts), and the
 * lock beside it through its parent held open, so nothing is ever made anywhere else.
 */
async function lockPathsFor(configDir: string): Promise<{ readonly paths: ClaudeLockPaths; close(): Promise<void> }> {
  if (process.geteuid?.() !== 0) return { paths: await claudeLockPaths(configDir), close: noLock };
  const dir = await SafeDirectory.open(configDir);
  let parent: SafeDirectory | undefined;
  try {
    parent = await SafeDirectory.open(dirname(resolve(configDir)));
  } catch {
    // No parent we can hold: the CLI's lock beside the directory is skipped, as on a read-only parent.
  }
  return {
    paths: {
      refreshLock: dir.entry('.oauth_refresh.lock'),
      legacyLock: parent === undefined ? '' : parent.entry(`${basename(resolve(configDir))}.lock`),
      ownerRecord: dir.entry('.oauth_refresh.lock.owner'),
      storageLock: dir.entry('.storage-write.lock'),
    },
    async close() {
      await parent?.close().catch(() => undefined);
      await dir.close().catch(() => undefined);
    },
  };
}

export interface LockOptions {
  /** Give up (StoreUnavailableError) after waiting this long for a lock someone holds. */
  readonly maxWaitMs?: number;
  readonly signal?: AbortSignal;
}

/** Runs `task` holding the CLI's two refresh locks of `configDir` (and our owner record in the main one). */
export async function withClaudeLocks<T>(configDir: string, task: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const held = await lockPathsFor(configDir);
  try {
    return await holdClaudeLocks(configDir, held.paths, task, options);
  } finally {
    await held.close();
  }
}

async function holdClaudeLocks<T>(configDir: string, paths: ClaudeLockPaths, task: () => Promise<T>, options: LockOptions): Promise<T> {
  const deadline = Date.now() + (options.maxWaitMs ?? DEFAULT_WAIT_MS);
  for (let attempt = 0; ; attempt += 1) {
    const releaseMain = await acquire(join(configDir, '.oauth_refresh'), paths.refreshLock, paths.ownerRecord, deadline, options.signal);
    let releaseLegacy: (() => Promise<void>) | 'contended';
    try {
      releaseLegacy = await tryLegacy(configDir, paths.legacyLock);
    } catch (error) {
      await releaseMain().catch(() => undefined);
      throw error;
    }
    if (releaseLegacy === 'contended') {
      // The CLI's order: a held legacy lock means someone is mid-refresh; let go of the main one and retry.
      await releaseMain().catch(() => undefined);
      await pause(deadline, options.signal, paths.legacyLock, attempt);
      continue;
    }
    const record = await writeOwnerRecord(paths).catch(() => undefined);
    try {
      return await task();
    } finally {
      if (record !== undefined) await removeOwnerRecord(paths.ownerRecord, record).catch(() => undefined);
      const legacy = releaseLegacy;
      await legacy().catch(() => undefined);
      await releaseMain().catch(() => undefined);
    }
  }
}

/** Runs `task` (one read-modify-write of the file) holding the CLI's `.storage-write.lock`. */
export async function withStorageWriteLock<T>(configDir: string, task: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const held = await lockPathsFor(configDir);
  try {
    return await holdStorageLock(configDir, held.paths, task, options);
  } finally {
    await held.close();
  }
}

async function holdStorageLock<T>(configDir: string, paths: ClaudeLockPaths, task: () => Promise<T>, options: LockOptions): Promise<T> {
  const deadline = Date.now() + (options.maxWaitMs ?? DEFAULT_WAIT_MS);
  let release: (() => Promise<void>) | undefined;
  for (let attempt = 0; release === undefined; attempt += 1) {
    try {
      release = await lockfile.lock(join(configDir, '.storage-write'), {
        lockfilePath: paths.storageLock,
        realpath: false,
        fs: immediateLockFs,
        stale: STORAGE_STALE_MS,
        update: UPDATE_MS,
        retries: 0,
        onCompromised: () => undefined,
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && UNLOCKABLE.has(code)) release = noLock;
      else if (code !== 'ELOCKED') throw lockError(paths.storageLock, error);
      else await pause(deadline, options.signal, paths.storageLock, attempt);
    }
  }
  try {
    return await task();
  } finally {
    await release().catch(() => undefined);
  }
}

async function acquire(target: string, lockPath: string, recordPath: string, deadline: number, signal: AbortSignal | undefined): Promise<() => Promise<void>> {
  let quietSince: { mtimeMs: number; at: number } | undefined;
  for (let attempt = 0; ; attempt += 1) {
    const record = await readOwnerRecord(recordPath);
    const lockStat = await stat(lockPath).catch(() => undefined);
    const recordMatches = record !== undefined && lockStat !== undefined && record.lockBirthtimeMs === lockStat.birthtimeMs;
    try {
      return await lockfile.lock(target, {
        lockfilePath: lockPath,
        realpath: false,
        fs: immediateLockFs,
        stale: recordMatches ? STALE_WITH_RECORD_MS : STALE_MS,
        update: UPDATE_MS,
        retries: 0,
        onCompromised: () => undefined,
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && UNLOCKABLE.has(code)) return noLock;
      if (code !== 'ELOCKED') throw lockError(lockPath, error);
    }
    if (lockStat !== undefined) {
      if (quietSince === undefined || quietSince.mtimeMs !== lockStat.mtimeMs) quietSince = { mtimeMs: lockStat.mtimeMs, at: Date.now() };
      if (recordMatches && Date.now() - quietSince.at >= DEAD_HOLDER_QUIET_MS && (await holderProvenGone(record))) {
        // The CLI's own takeover rule: a record from our PID namespace whose pid is gone and whose lock stopped moving.
        await rm(lockPath, { recursive: true, force: true });
        await unlink(recordPath).catch(() => undefined);
        continue;
      }
    }
    await pause(deadline, signal, lockPath, attempt);
  }
}

async function tryLegacy(configDir: string, lockPath: string): Promise<(() => Promise<void>) | 'contended'> {
  if (lockPath === '') return noLock;
  try {
    return await lockfile.lock(configDir, { lockfilePath: lockPath, realpath: false, fs: immediateLockFs, stale: STALE_MS, update: UPDATE_MS, retries: 0, onCompromised: () => undefined });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ELOCKED') return 'contended';
    // Beside the config dir: its parent may be read-only (a mounted volume). The CLI then goes on without
    // it too, so the main lock inside the directory is what excludes it.
    return async () => undefined;
  }
}

/** Waits before the next try at a held lock: short at first (a CLI write takes milliseconds), then up to 400 ms. */
async function pause(deadline: number, signal: AbortSignal | undefined, lockPath: string, attempt: number): Promise<void> {
  if (signal?.aborted) throw new StoreUnavailableError(`gave up waiting for the Claude CLI lock ${lockPath}: shutting down`);
  if (Date.now() >= deadline) throw new StoreUnavailableError(`the Claude CLI lock ${lockPath} stayed held; will try again`);
  const ceiling = Math.min(400, 20 * 1.5 ** attempt);
  await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
}

function lockError(lockPath: string, error: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`cannot take the Claude CLI lock ${lockPath}: ${describeCause(error)}`, { cause: error });
}

// --- the owner record (CLI 2.1.332) ---------------------------------------------------------------

export interface OwnerRecord {
  readonly pid: number;
  readonly procStart?: string;
  readonly pidDomain: string;
  readonly pidSpace: string;
  readonly lockBirthtimeMs: number;
  readonly legacyLockBirthtimeMs?: number;
}

let identity: { pidDomain: string; pidSpace: string; procStart: string | undefined } | undefined;

/** This process's pid namespace, domain and start time, computed exactly as the CLI computes its own. */
export function ownIdentity(): { pidDomain: string; pidSpace: string; procStart: string | undefined } {
  if (identity !== undefined) return identity;
  const nsPid = readLinkSync('/proc/self/ns/pid');
  let machineId = '';
  try {
    machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    // absent in many containers: the CLI then uses "" too
  }
  identity = {
    pidDomain: `linux:${machineId}:${nsPid ?? ''}`,
    // Without a readable namespace the CLI would use the bare hostname, which every container of a pod
    // shares: a pidSpace no CLI can have makes it wait for the mtime to go stale instead.
    pidSpace: nsPid === undefined ? `claude-creds:${hostname()}` : `${hostname()}#${nsPid}`,
    procStart: processStartTime(process.pid),
  };
  return identity;
}

function readLinkSync(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat, as the CLI reads it. */
function processStartTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function writeOwnerRecord(paths: ClaudeLockPaths): Promise<OwnerRecord | undefined> {
  const main = await stat(paths.refreshLock);
  const legacy = await stat(paths.legacyLock).catch(() => undefined);
  if (!(main.birthtimeMs > 0)) return undefined;
  const own = ownIdentity();
  const record: OwnerRecord = {
    pid: process.pid,
    ...(own.procStart === undefined ? {} : { procStart: own.procStart }),
    pidDomain: own.pidDomain,
    pidSpace: own.pidSpace,
    lockBirthtimeMs: main.birthtimeMs,
    ...(legacy !== undefined && legacy.birthtimeMs > 0 ? { legacyLockBirthtimeMs: legacy.birthtimeMs } : {}),
  };
  // The directory may belong to the worker: never write through a name it could have made a link. A fresh
  // temp file (O_EXCL, O_NOFOLLOW) renamed over the record replaces whatever sat there, never its target.
  const temp = `${paths.ownerRecord}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(JSON.stringify(record));
  } finally {
    await handle.close();
  }
  await rename(temp, paths.ownerRecord).catch(async (error: unknown) => {
    await unlink(temp).catch(() => undefined);
    throw error;
  });
  return record;
}

async function removeOwnerRecord(path: string, ours: OwnerRecord): Promise<void> {
  const current = await readOwnerRecord(path);
  if (current?.pid === ours.pid && current.lockBirthtimeMs === ours.lockBirthtimeMs) await unlink(path);
}

export async function readOwnerRecord(path: string): Promise<OwnerRecord | undefined> {
  let text: string;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (!(await handle.stat()).isFile()) return undefined;
      const buffer = Buffer.alloc(4097);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > 4096) return undefined;
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { pid, procStart, pidDomain, pidSpace, lockBirthtimeMs, legacyLockBirthtimeMs } = record;
  if (typeof pid !== 'number' || !Number.isInteger(pid)) return undefined;
  if (typeof pidDomain !== 'string' || typeof pidSpace !== 'string') return undefined;
  if (typeof lockBirthtimeMs !== 'number' || !(lockBirthtimeMs > 0)) return undefined;
  if (procStart !== undefined && typeof procStart !== 'string') return undefined;
  if (legacyLockBirthtimeMs !== undefined && !(typeof legacyLockBirthtimeMs === 'number' && legacyLockBirthtimeMs > 0)) return undefined;
  return {
    pid,
    pidDomain,
    pidSpace,
    lockBirthtimeMs,
    ...(typeof procStart === 'string' ? { procStart } : {}),
    ...(typeof legacyLockBirthtimeMs === 'number' ? { legacyLockBirthtimeMs } : {}),
  };
}

async function readProcStat(pid: number): Promise<string> {
  return readFileSync(`/proc/${pid}/stat`, 'utf8');
}

/** Only a holder in our own PID namespace can be proven gone; a foreign one says nothing about liveness. */
async function holderProvenGone(record: OwnerRecord): Promise<boolean> {
  const own = ownIdentity();
  if (record.pidDomain !== own.pidDomain || record.pidSpace !== own.pidSpace) return false;
  if (!(record.pid > 1 && record.pid <= 2 ** 31 - 1) || record.pid === process.pid) return false;
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    return (error as { code?: unknown }).code === 'ESRCH';
  }
  const state = await readProcStat(record.pid).then((text) => text.slice(text.lastIndexOf(')') + 2).split(' ')[0]).catch(() => undefined);
  if (state === 'Z' || state === 'X') return true;
  return record.procStart !== undefined && processStartTime(record.pid) !== undefined && processStartTime(record.pid) !== record.procStart;
}

