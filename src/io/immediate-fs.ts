/**
 * The few `node:fs/promises` calls the credentials file's write path makes, done with the synchronous
 * system calls behind a promise-returning face, so the callers read exactly as before.
 *
 * Why: a locked, race-free write walks the directory one descriptor at a time and takes the Claude CLI's
 * locks, about a hundred small calls on a local filesystem. Each `fs/promises` call is a round trip
 * through libuv's thread pool: on a 2-core VM that is where most of the ~40 ms between reading the
 * store and "credentials written" went (measured: docs/performance.md), for calls that take microseconds.
 * The write path is one short sequence with nothing to overlap, so doing the calls in place loses nothing
 * for `fetch` and the wrapper; in the sidecar it blocks the event loop for the same microseconds. The
 * price: on a network mount that stops answering (a hard NFS mount whose server is gone) a call blocks
 * the whole process until the mount answers, where a thread-pool call would have left timers, signals
 * and the health server running.
 *
 * The semantics are the system calls' own: the same flags, the same errors (code, errno, syscall, path).
 */
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  utimesSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';

/** The part of `fs/promises`' FileHandle the write path uses, on a plain descriptor. */
export class ImmediateFileHandle {
  private closed = false;

  constructor(readonly fd: number) {}

  async stat(): Promise<Stats> {
    return fstatSync(this.fd);
  }

  async chmod(mode: number): Promise<void> {
    fchmodSync(this.fd, mode);
  }

  async chown(uid: number, gid: number): Promise<void> {
    fchownSync(this.fd, uid, gid);
  }

  async sync(): Promise<void> {
    fsyncSync(this.fd);
  }

  /** The whole of `data`, from the current position (a fresh descriptor: the start), as FileHandle.writeFile. */
  async writeFile(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    return { bytesRead: readSync(this.fd, buffer, offset, length, position), buffer };
  }

  /** Closes once; a second close is a no-op, as FileHandle's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

export type FileHandle = ImmediateFileHandle;

export async function open(path: string, flags: number, mode?: number): Promise<ImmediateFileHandle> {
  return new ImmediateFileHandle(openSync(path, flags, mode));
}

export async function lstat(path: string): Promise<Stats> {
  return lstatSync(path);
}

export async function readlink(path: string): Promise<string> {
  return readlinkSync(path);
}

export async function mkdir(path: string, options: { mode?: number; recursive?: boolean }): Promise<void> {
  mkdirSync(path, options);
}

export async function readdir(path: string): Promise<string[]> {
  return readdirSync(path);
}

export async function rename(from: string, to: string): Promise<void> {
  renameSync(from, to);
}

export async function unlink(path: string): Promise<void> {
  unlinkSync(path);
}

export async function stat(path: string): Promise<Stats> {
  return statSync(path);
}

export async function realpath(path: string): Promise<string> {
  return realpathSync(path);
}

export async function rm(path: string, options: { recursive?: boolean; force?: boolean }): Promise<void> {
  rmSync(path, options);
}

type Callback<T> = (error: NodeJS.ErrnoException | null, value?: T) => void;

/** Runs `call` now and answers on the next tick, as a callback API must (never synchronously). */
function answer<T>(callback: Callback<T>, call: () => T): void {
  let value: T;
  try {
    value = call();
  } catch (error) {
    process.nextTick(callback, error as NodeJS.ErrnoException);
    return;
  }
  process.nextTick(callback, null, value);
}

/**
 * The callback-style `fs` that proper-lockfile takes as its `fs` option (it calls mkdir, stat, rmdir,
 * utimes, realpath and, on exit, rmdirSync): the same calls in place instead of graceful-fs' thread-pool
 * round trips, for the reason above.
 */
export const immediateLockFs = {
  mkdir: (path: string, callback: Callback<void>) => answer(callback, () => void mkdirSync(path)),
  stat: (path: string, callback: Callback<Stats>) => answer(callback, () => statSync(path)),
  rmdir: (path: string, callback: Callback<void>) => answer(callback, () => rmdirSync(path)),
  utimes: (path: string, atime: Date, mtime: Date, callback: Callback<void>) => answer(callback, () => utimesSync(path, atime, mtime)),
  realpath: (path: string, callback: Callback<string>) => answer(callback, () => realpathSync(path)),
  rmdirSync: (path: string) => rmdirSync(path),
};
