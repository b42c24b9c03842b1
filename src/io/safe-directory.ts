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
import type { Stats } from 'node:fs';
import { lstat, readdir, type FileHandle } from './immediate-fs.js';
import { dirname, resolve } from 'node:path';
import type { Owner } from '../core/config.js';
import { WriteError, describeCause } from '../core/errors.js';
import { euid, hintFor, mountId, openByPath, procSelfFd, walk, type ParentInfo } from './directory-walk.js';

export { hintFor } from './directory-walk.js';

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
