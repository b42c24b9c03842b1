/**
 * How SafeDirectory (safe-directory.ts) reaches its directory: the path walked from `/` one component
 * at a time, each opened relative to the descriptor of the one before through /proc/self/fd, with
 * O_NOFOLLOW; a symbolic link followed only where nobody but root and us could have planted it. And the
 * by-path fallback where /proc/self/fd does not work, plus the errno wording both share.
 */
import { closeSync, constants, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, type FileHandle } from './immediate-fs.js';
import { dirname } from 'node:path';
import type { Owner } from '../core/config.js';
import { fileSystemErrorHint, withUserPaths } from './system-error-hints.js';
import { WriteError, describeCause } from '../core/errors.js';

/** O_PATH (Linux): a handle to walk through and stat, which needs no read permission on the directory. */
const O_PATH = 0o10000000;
const MAX_LINK_HOPS = 40;

let procFdWorks: boolean | undefined;

/** Whether `/proc/self/fd/N/name` resolves inside the directory N holds: probed once, on `/` itself. */
export function procSelfFd(): boolean {
  if (procFdWorks !== undefined) return procFdWorks;
  procFdWorks = false;
  if (process.platform !== 'linux') return procFdWorks;
  let fd: number | undefined;
  try {
    fd = openSync('/', O_PATH | constants.O_DIRECTORY);
    const through = statSync(`/proc/self/fd/${fd}/.`);
    const root = statSync('/');
    procFdWorks = through.ino === root.ino && through.dev === root.dev && readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').includes('flags');
  } catch {
    procFdWorks = false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return procFdWorks;
}

export interface ParentInfo {
  readonly uid: number;
  /** Only root and we can write it: nothing in it can have been swapped by anyone else. */
  readonly trusted: boolean;
  readonly mountId: number | undefined;
}

export interface Walked {
  readonly handle: FileHandle;
  readonly parent: ParentInfo;
  /** Whether we created the last component. */
  readonly created: boolean;
}

export function euid(): number {
  return process.geteuid?.() ?? -1;
}

function isTrusted(stats: Stats): boolean {
  return (stats.uid === 0 || stats.uid === euid()) && (stats.mode & 0o022) === 0;
}

export function mountId(fd: number): number | undefined {
  try {
    const match = /^mnt_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

function code(error: unknown): string | undefined {
  const value = (error as { code?: unknown } | undefined)?.code;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Opens `path` one component at a time below `/`, each relative to the descriptor of the one before
 * (through /proc/self/fd), never following a link the caller's adversary could have planted.
 */
export async function walk(path: string, createMode: number | undefined, owner: Owner | undefined): Promise<Walked> {
  const pending = path.split('/').filter((part) => part !== '' && part !== '.');
  let current = await open('/', O_PATH | constants.O_DIRECTORY);
  let currentStats = await current.stat();
  let walked = '';
  let hops = 0;
  let created = false;
  try {
    for (;;) {
      const name = pending.shift();
      if (name === undefined) {
        throw new WriteError(`${path}: not a directory claude-creds can write into`);
      }
      const last = pending.length === 0;
      const shown = name === '..' ? dirname(walked) : `${walked}/${name}`;
      const at = `/proc/self/fd/${current.fd}/${name}`;
      let next: FileHandle | undefined;
      created = false;
      for (let attempt = 0; next === undefined; attempt += 1) {
        try {
          // The last component is opened for reading too: fsync, fchown and readdir need it.
          next = await open(at, (last ? constants.O_RDONLY : O_PATH) | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        } catch (error) {
          const reason = code(error);
          if (reason === 'ENOENT' && createMode !== undefined && attempt < 3) {
            created = await makeDirectory(at, createMode, shown);
            if (created && !last && owner !== undefined) await giveCreated(at, owner, shown, createMode);
            continue;
          }
          if (reason === 'EACCES' && last) {
            next = await open(at, O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(() => undefined);
            if (next !== undefined) break;
          }
          if (reason === 'ELOOP' || reason === 'ENOTDIR') {
            const stats = await lstat(at).catch(() => undefined);
            if (stats?.isSymbolicLink()) {
              if (last) {
                throw new WriteError(`${shown} is a symbolic link; refusing to write credentials through it (give the real directory with --out)`);
              }
              if (!isTrusted(currentStats)) {
                throw new WriteError(
                  `${shown} is a symbolic link in ${walked || '/'}, which uid ${currentStats.uid} (or its group or others) can write; refusing to follow it (give the real path with --out)`,
                );
              }
              if ((hops += 1) > MAX_LINK_HOPS) throw new WriteError(`${path}: too many symbolic links`);
              const target = await readlink(at);
              pending.unshift(...target.split('/').filter((part) => part !== '' && part !== '.'));
              if (target.startsWith('/')) {
                await current.close();
                current = await open('/', O_PATH | constants.O_DIRECTORY);
                currentStats = await current.stat();
                walked = '';
              }
              break;
            }
            if (stats !== undefined) throw new WriteError(`${shown} exists and is not a directory`);
          }
          throw walkError(reason === 'ENOENT' ? `${shown} does not exist` : `cannot open the directory ${shown}`, error, at, shown);
        }
      }
      if (next === undefined) continue; // a trusted link: its target's components are pending now
      const parentStats = currentStats;
      const parentMount = last ? mountId(current.fd) : undefined;
      await current.close();
      current = next;
      currentStats = await current.stat();
      walked = shown;
      if (last) {
        return { handle: current, parent: { uid: parentStats.uid, trusted: isTrusted(parentStats), mountId: parentMount }, created };
      }
    }
  } catch (error) {
    await current.close().catch(() => undefined);
    throw error;
  }
}

async function makeDirectory(at: string, mode: number, shown: string): Promise<boolean> {
  try {
    await mkdir(at, { mode });
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return false; // someone else made it meanwhile: open what is there
    throw walkError(`cannot create the directory ${shown}`, error, at, shown);
  }
}

/** A parent directory we had to create on the way: the owner's too, or the worker could not reach its own. */
async function giveCreated(at: string, owner: Owner, shown: string, mode: number): Promise<void> {
  const handle = await open(at, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(() => undefined);
  if (handle === undefined) return;
  try {
    const stats = await handle.stat();
    if (stats.uid !== euid() || stats.nlink > 2) return; // not the empty directory we just made
    await handle.chmod(mode);
    await handle.chown(owner.uid, owner.gid);
  } catch (error) {
    throw walkError(`cannot give ${shown} to ${owner.uid}:${owner.gid}`, error, at, shown);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Without /proc/self/fd: the directory by path, refused when it is a link; checks by path only. */
export async function openByPath(path: string, createMode: number | undefined): Promise<Walked> {
  let created = false;
  let stats = await lstat(path).catch((error: unknown) => {
    if (code(error) !== 'ENOENT') throw walkError(`cannot inspect ${path}`, error, path, path);
    return undefined;
  });
  if (stats === undefined && createMode !== undefined) {
    await mkdir(path, { recursive: true, mode: createMode }).catch((error: unknown) => {
      throw walkError(`cannot create the directory ${path}`, error, path, path);
    });
    created = true;
    stats = await lstat(path);
  }
  if (stats === undefined) throw new WriteError(`${path} does not exist`);
  if (stats.isSymbolicLink()) throw new WriteError(`${path} is a symbolic link; refusing to write credentials through it (give the real directory with --out)`);
  if (!stats.isDirectory()) throw new WriteError(`${path} exists and is not a directory`);
  const handle = await open(path, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | constants.O_NOFOLLOW);
  const parentStats = await lstat(dirname(path));
  return { handle, parent: { uid: parentStats.uid, trusted: isTrusted(parentStats), mountId: undefined }, created };
}

export const ERRNO_HINTS: Readonly<Record<string, string>> = {
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

export function hintFor(error: unknown): string | undefined {
  const reason = code(error);
  return reason === undefined ? undefined : ERRNO_HINTS[reason];
}

function walkError(what: string, error: unknown, at: string, shown: string): WriteError {
  const hint = fileSystemErrorHint(withUserPaths(error, at, shown)) ?? hintFor(error);
  return new WriteError(`${what}: ${hint ?? describeCause(error).split(at).join(shown)}`, { cause: error });
}
