/**
 * Writes a file so that a reader sees either the old or the new content, never a torn one: a temp file
 * (0600 from birth, O_EXCL) in the same directory, fsync, rename over the target, fsync the directory.
 * Refuses symlinks and anything but a regular file at the target, and skips identical content.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Owner } from '../core/config.js';
import { WriteError, describeCause } from '../core/errors.js';
import { fileSystemErrorHint } from './system-error-hints.js';

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
  const dir = dirname(path);
  const fileMode = options.fileMode ?? 0o600;
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);

  await ensureDirectory(dir, options.dirMode ?? 0o700, options.owner);
  const existing = await inspectTarget(path);
  // Before the identical-content shortcut: a restart with the same secret is the usual next start after
  // a crash, and its leftovers must go then too.
  await removeStaleTemps(dir, basename(path));
  if (existing && (await sameContent(path, bytes))) {
    await settleModeAndOwner(path, existing, fileMode, options.owner);
    return 'unchanged';
  }

  const temp = join(dir, `.${basename(path)}${TEMP_MARK}${randomBytes(6).toString('hex')}.tmp`);
  let handle;
  try {
    // O_EXCL + O_NOFOLLOW: never write through a link an attacker planted at the temp name.
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, fileMode);
  } catch (error) {
    throw writeError(`cannot create a file in ${dir}`, error);
  }
  try {
    await handle.chmod(fileMode); // umask may have narrowed it; make it exact before any byte lands
    if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw writeError(`cannot write ${path}`, error);
  }
  await syncDirectory(dir);
  return 'written';
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
  let stats: Stats;
  try {
    stats = await lstat(dir);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw writeError(`cannot inspect ${dir}`, error);
    try {
      await mkdir(dir, { recursive: true, mode });
      await chmod(dir, mode);
      if (owner) await chown(dir, owner.uid, owner.gid);
    } catch (mkdirError) {
      throw writeError(`cannot create the directory ${dir}`, mkdirError);
    }
    return;
  }
  if (stats.isSymbolicLink()) {
    throw new WriteError(`${dir} is a symbolic link; refusing to write credentials through it (give the real directory with --out)`);
  }
  if (!stats.isDirectory()) throw new WriteError(`${dir} exists and is not a directory`);
  if (owner && (stats.uid !== owner.uid || stats.gid !== owner.gid)) {
    await chown(dir, owner.uid, owner.gid).catch((error: unknown) => {
      throw writeError(`cannot give ${dir} to ${owner.uid}:${owner.gid}`, error);
    });
  }
}

/** The target's stats when it is a regular file, undefined when absent; throws for anything else. */
async function inspectTarget(path: string): Promise<Stats | undefined> {
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw writeError(`cannot inspect ${path}`, error);
  }
  if (stats.isSymbolicLink()) {
    throw new WriteError(`${path} is a symbolic link; refusing to replace or follow it (remove it or give the real path with --out)`);
  }
  if (!stats.isFile()) {
    throw new WriteError(`${path} exists and is not a regular file (${describeFileType(stats)}); refusing to replace it`);
  }
  return stats;
}

async function sameContent(path: string, bytes: Buffer): Promise<boolean> {
  try {
    return (await readFile(path)).equals(bytes);
  } catch {
    return false;
  }
}

async function settleModeAndOwner(path: string, stats: Stats, mode: number, owner: Owner | undefined): Promise<void> {
  try {
    if ((stats.mode & 0o777) !== mode) await chmod(path, mode);
    if (owner && (stats.uid !== owner.uid || stats.gid !== owner.gid)) await chown(path, owner.uid, owner.gid);
  } catch (error) {
    throw writeError(`cannot set the mode or owner of ${path}`, error);
  }
}

/** Removes temp files that a writer killed mid-write left behind (older than a minute). */
export async function removeStaleTemps(dir: string, name: string, now = Date.now()): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    if (!entry.startsWith(`.${name}${TEMP_MARK}`) || !entry.endsWith('.tmp')) continue;
    const full = join(dir, entry);
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

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable; some filesystems refuse fsync on a directory, which is harmless.
  const handle = await open(dir, constants.O_RDONLY).catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close().catch(() => undefined);
}

function describeFileType(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

const ERRNO_HINTS: Record<string, string> = {
  EACCES: 'permission denied: run as a user that may write there, or use --owner with a writable directory',
  EPERM: 'operation not permitted (changing the owner needs root)',
  EROFS: 'the filesystem is read-only: mount a writable volume (emptyDir) at the credentials directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file size limit exceeded',
  EISDIR: 'a directory is in the way',
  ENOTDIR: 'a path component is not a directory',
  ELOOP: 'a symbolic link is in the way',
};

function writeError(what: string, error: unknown): WriteError {
  const code = (error as { code?: unknown } | undefined)?.code;
  const hint = fileSystemErrorHint(error) ?? (typeof code === 'string' ? ERRNO_HINTS[code] : undefined);
  return new WriteError(`${what}: ${hint ?? describeCause(error)}`, { cause: error });
}

export function isErrno(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | undefined)?.code === code;
}
