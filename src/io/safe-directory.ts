/**
 * A directory held open, so that every later operation lands in it even while someone who can write its
 * parent swaps names around: root writing into a directory the worker owns must not be led, by a symbolic
 * link planted between a check and an action, into changing a file elsewhere.
 *
 * Node has no openat/fchownat/renameat. On Linux, `/proc/self/fd/<fd>/<name>` is resolved from the open
 * directory itself (the magic link jumps to the directory the descriptor holds, not to a path), which
 * gives the same guarantee: `entry(name)` names `name` inside the directory we opened, whatever the
 * original path names by then. The path is walked one component at a time with O_NOFOLLOW; a symbolic
 * link is followed only where the directory holding it can be written by no one but root and us (where
 * nobody else could have planted it), and never as the last component.
 *
 * Without /proc/self/fd (not Linux) the same checks are made by path: best effort, said in the README.
 */
import { closeSync, constants, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Owner } from '../core/config.js';
import { WriteError, describeCause } from '../core/errors.js';

/** O_PATH (Linux): a handle to walk through and stat, which needs no read permission on the directory. */
const O_PATH = 0o10000000;
const MAX_LINK_HOPS = 40;

export interface OpenDirectoryOptions {
  /** Create the directory (and missing parents) with this mode when absent; exact, umask aside. */
  readonly createMode?: number;
  /**
   * Who must own the directory. A directory we create is given to them; an existing one only when nobody
   * but root could have put it there (its parent is root's), it is a mount point, or it is empty: else a
   * directory someone swapped in (say root's own) would be handed to the worker.
   */
  readonly owner?: Owner | undefined;
  /** false: give only a directory we create to `owner`, leave an existing one as it is (say $HOME). */
  readonly giveExisting?: boolean;
}

let procFdWorks: boolean | undefined;

/** Whether `/proc/self/fd/N/name` resolves inside the directory N holds: probed once, on `/` itself. */
function procSelfFd(): boolean {
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

export class SafeDirectory {
  private constructor(
    /** The directory as the user named it: for messages and the identity check. */
    readonly path: string,
    private readonly handle: FileHandle,
    private stats: Stats,
    private readonly viaProc: boolean,
  ) {}

  /** A path that names `name` inside the directory held open, whatever `path` names meanwhile. */
  entry(name: string): string {
    return this.viaProc ? `/proc/self/fd/${this.handle.fd}/${name}` : `${this.path}/${name}`;
  }

  /**
   * Throws unless `path` still names the directory held open: someone renamed it away or swapped
   * another in. Called around the rename, so a file never lands in a directory the path does not show.
   */
  async verify(): Promise<void> {
    let now: Stats | undefined;
    try {
      now = await lstat(this.path);
    } catch {
      now = undefined;
    }
    if (now === undefined || now.isSymbolicLink() || now.dev !== this.stats.dev || now.ino !== this.stats.ino) {
      throw new WriteError(`${this.path} was replaced while claude-creds wrote into it (someone who can write ${dirname(this.path)} swapped it); refusing to go on`);
    }
  }

  /** fsync the directory: makes a rename in it durable. Some filesystems refuse; that is harmless. */
  async sync(): Promise<void> {
    await this.handle.sync().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /** `error`'s description with the /proc/self/fd form of our entries put back as the directory's path. */
  describe(error: unknown): string {
    const text = describeCause(error);
    return this.viaProc ? text.split(`/proc/self/fd/${this.handle.fd}`).join(this.path) : text;
  }

  /** Opens `dir` (see the module comment); creates it when asked and settles its owner. The caller closes it. */
  static async open(dir: string, options: OpenDirectoryOptions = {}): Promise<SafeDirectory> {
    const path = resolve(dir);
    const viaProc = procSelfFd();
    const { handle, parent, created } = viaProc ? await walk(path, options.createMode, options.owner) : await openByPath(path, options.createMode);
    try {
      const directory = new SafeDirectory(path, handle, await handle.stat(), viaProc);
      await directory.settle(parent, created, options);
      return directory;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  private async settle(parent: ParentInfo, created: boolean, options: OpenDirectoryOptions): Promise<void> {
    const { owner, createMode } = options;
    const ours = this.stats.uid === euid();
    // A directory we just made is empty and ours; the check is on what the path holds now, not on
    // what mkdir made, since the two may differ.
    if (created && ours && createMode !== undefined && (await this.isEmpty())) {
      await this.handle.chmod(createMode).catch((error: unknown) => {
        throw new WriteError(`cannot set the mode of ${this.path}: ${this.describe(error)}`, { cause: error });
      });
    }
    const give = created || options.giveExisting !== false;
    if (owner === undefined || !give || (this.stats.uid === owner.uid && this.stats.gid === owner.gid)) {
      this.stats = await this.handle.stat();
      return;
    }
    const why = parent.trusted ? 'trusted parent' : (await this.isMountPoint(parent)) ? 'mount point' : (await this.isEmpty()) ? 'empty' : undefined;
    if (why === undefined) {
      throw new WriteError(
        `${this.path} belongs to ${this.stats.uid}:${this.stats.gid}, not ${owner.uid}:${owner.gid}, is not empty, and its parent can be written by uid ${parent.uid}: ` +
          'refusing to give it away (it may have been swapped in); chown it yourself, or remove it so claude-creds creates it',
      );
    }
    try {
      await this.handle.chown(owner.uid, owner.gid);
    } catch (error) {
      throw new WriteError(`cannot give ${this.path} to ${owner.uid}:${owner.gid}: ${hintFor(error) ?? this.describe(error)}`, { cause: error });
    }
    this.stats = await this.handle.stat();
  }

  private async isEmpty(): Promise<boolean> {
    if (!this.viaProc) return false;
    try {
      return (await readdir(this.entry('.'))).length === 0;
    } catch {
      return false;
    }
  }

  /** A mount point cannot be renamed or replaced (EBUSY): what is mounted there is the administrator's. */
  private async isMountPoint(parent: ParentInfo): Promise<boolean> {
    if (!this.viaProc || parent.mountId === undefined) return false;
    const mine = mountId(this.handle.fd);
    return mine !== undefined && mine !== parent.mountId;
  }
}

interface ParentInfo {
  readonly uid: number;
  /** Only root and we can write it: nothing in it can have been swapped by anyone else. */
  readonly trusted: boolean;
  readonly mountId: number | undefined;
}

interface Walked {
  readonly handle: FileHandle;
  readonly parent: ParentInfo;
  /** Whether we created the last component. */
  readonly created: boolean;
}

function euid(): number {
  return process.geteuid?.() ?? -1;
}

function isTrusted(stats: Stats): boolean {
  return (stats.uid === 0 || stats.uid === euid()) && (stats.mode & 0o022) === 0;
}

function mountId(fd: number): number | undefined {
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
async function walk(path: string, createMode: number | undefined, owner: Owner | undefined): Promise<Walked> {
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
async function openByPath(path: string, createMode: number | undefined): Promise<Walked> {
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
  return new WriteError(`${what}: ${hintFor(error) ?? describeCause(error).split(at).join(shown)}`, { cause: error });
}
