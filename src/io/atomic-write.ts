/**
 * Writes a file so that a reader sees either the old or the new content, never a torn one: a temp file
 * (0600 from birth, O_EXCL) in the same directory, fsync, rename over the target, fsync the directory.
 * Refuses symlinks and anything but a regular file at the target, and skips identical content.
 *
 * Every operation goes through the directory held open (see safe-directory.ts), never by a path checked
 * earlier: the directory may belong to the worker, who can swap names in it at any moment, and root must
 * not be led into chmod/chown/write on anything else. Mode and owner are set on descriptors only.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, rename, unlink, type FileHandle } from './immediate-fs.js';
import { basename, dirname, resolve } from 'node:path';
import type { Owner } from '../core/config.js';
import { WriteError } from '../core/errors.js';
import { SafeDirectory, hintFor } from './safe-directory.js';
import { fileSystemErrorHint, withUserPaths } from './system-error-hints.js';

export interface AtomicWriteOptions {
  readonly fileMode?: number;
  readonly dirMode?: number;
  readonly owner?: Owner | undefined;
}

export type WriteResult = 'written' | 'unchanged';

const TEMP_MARK = '.claude-creds-';
/** Temp files older than this are leftovers of a crashed writer, not a concurrent one. */
const STALE_TEMP_MS = 60_000;

export async function writeFileAtomic(
  target: string,
  content: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<WriteResult> {
  holdSigxfsz();
  const path = resolve(target);
  const name = basename(path);
  const fileMode = options.fileMode ?? 0o600;
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);

  const directory = await SafeDirectory.open(dirname(path), { createMode: options.dirMode ?? 0o700, owner: options.owner });
  try {
    const existing = await inspectTarget(directory, name, path);
    // Before the identical-content shortcut: a restart with the same secret is the usual next start after
    // a crash, and its leftovers must go then too.
    await removeStaleTempsIn(directory, name, Date.now());
    if (existing && (await settleIfIdentical(directory, name, path, existing, bytes, fileMode, options.owner))) return 'unchanged';

    const tempName = `.${name}${TEMP_MARK}${randomBytes(6).toString('hex')}.tmp`;
    const temp = directory.entry(tempName);
    let handle: FileHandle | undefined;
    try {
      // O_EXCL + O_NOFOLLOW: never write through a link an attacker planted at the temp name.
      handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, fileMode);
    } catch (error) {
      throw writeError(`cannot create a file in ${directory.path}`, error, directory);
    }
    try {
      await handle.chmod(fileMode); // umask may have narrowed it; make it exact before any byte lands
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
      await handle.writeFile(bytes);
      await handle.sync();
      await handle.close();
      handle = undefined;
      // The path must still show the directory we hold, before and after the rename: a file renamed
      // into a directory that was swapped away is refused, not reported as delivered.
      await directory.verify();
      await rename(temp, directory.entry(name));
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      if (error instanceof WriteError) throw error;
      throw writeError(`cannot write ${path}`, error, directory);
    }
    await directory.verify();
    await directory.sync();
    return 'written';
  } finally {
    await directory.close();
  }
}

let sigxfszHeld = false;

/**
 * Node ignores SIGXFSZ, so a write past `ulimit -f` fails with EFBIG and ends in a clean error. But
 * signal-exit (loaded with proper-lockfile) hooks SIGXFSZ and re-raises it with the default action once
 * it sees no other listener: the process dies mid-write and leaves its temp file behind. A listener of
 * our own keeps the signal harmless, whatever signal-exit does.
 */
function holdSigxfsz(): void {
  if (sigxfszHeld || process.platform === 'win32') return;
  sigxfszHeld = true;
  process.on('SIGXFSZ', () => undefined);
}

/** Creates `dir` (0700 by default) when missing; refuses a symlink or a non-directory in its place. */
export async function ensureDirectory(dir: string, mode = 0o700, owner?: Owner): Promise<void> {
  const directory = await SafeDirectory.open(dir, { createMode: mode, owner });
  await directory.close();
}

/** The target's stats (by lstat inside the directory held) when it is a regular file, undefined when absent. */
async function inspectTarget(directory: SafeDirectory, name: string, path: string): Promise<Stats | undefined> {
  let stats: Stats;
  try {
    stats = await lstat(directory.entry(name));
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw writeError(`cannot inspect ${path}`, error, directory);
  }
  if (stats.isSymbolicLink()) {
    throw new WriteError(`${path} is a symbolic link; refusing to replace or follow it (remove it or give the real path with --out)`);
  }
  if (!stats.isFile()) {
    throw new WriteError(`${path} exists and is not a regular file (${describeFileType(stats)}); refusing to replace it`);
  }
  return stats;
}

/**
 * When the target already holds `bytes`: sets its mode and owner through a descriptor and returns true.
 * The file is opened with O_NOFOLLOW (a link swapped in since the lstat fails the open) and must be a
 * regular file with one link: a hard link the worker made to someone else's file is not ours to chown.
 * Anything else returns false, and the caller writes a fresh file over the name instead.
 */
async function settleIfIdentical(directory: SafeDirectory, name: string, path: string, seen: Stats, bytes: Buffer, mode: number, owner: Owner | undefined): Promise<boolean> {
  if (seen.size !== bytes.length || seen.nlink !== 1) return false;
  let handle: FileHandle;
  try {
    handle = await open(directory.entry(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.nlink !== 1 || stats.size !== bytes.length) return false;
    const current = Buffer.alloc(bytes.length);
    const { bytesRead } = await handle.read(current, 0, bytes.length, 0);
    if (bytesRead !== bytes.length || !current.equals(bytes)) return false;
    try {
      if ((stats.mode & 0o7777) !== mode) await handle.chmod(mode);
      if (owner && (stats.uid !== owner.uid || stats.gid !== owner.gid)) await handle.chown(owner.uid, owner.gid);
    } catch (error) {
      throw writeError(`cannot set the mode or owner of ${path}`, error, directory);
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
  // The file we settled must be the one the path shows.
  await directory.verify();
  return true;
}

/** Removes temp files that a writer killed mid-write left behind (older than a minute). */
export async function removeStaleTemps(dir: string, name: string, now = Date.now()): Promise<number> {
  let directory: SafeDirectory;
  try {
    directory = await SafeDirectory.open(dir);
  } catch {
    return 0;
  }
  try {
    return await removeStaleTempsIn(directory, name, now);
  } finally {
    await directory.close();
  }
}

async function removeStaleTempsIn(directory: SafeDirectory, name: string, now: number): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(directory.entry('.'));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    if (!entry.startsWith(`.${name}${TEMP_MARK}`) || !entry.endsWith('.tmp')) continue;
    const full = directory.entry(entry);
    try {
      const stats = await lstat(full);
      if (stats.isFile() && now - stats.mtimeMs > STALE_TEMP_MS) {
        await unlink(full);
        removed += 1;
      }
    } catch {
      // raced with another cleaner: fine
    }
  }
  return removed;
}

function describeFileType(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

function writeError(what: string, error: unknown, directory: SafeDirectory): WriteError {
  const hint = fileSystemErrorHint(withUserPaths(error, directory.entry('').replace(/\/$/, ''), directory.path)) ?? hintFor(error);
  return new WriteError(`${what}: ${hint ?? directory.describe(error)}`, { cause: error });
}

export function isErrno(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | undefined)?.code === code;
}
