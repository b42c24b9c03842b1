/**
 * Watches one file for changes by watching its directory (the CLI replaces the file by rename, so an
 * inode watch would go deaf after the first write), plus a slow stat poll because inotify misses writes
 * made by other machines on NFS. Bursts are debounced into one callback.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface FileWatcherOptions {
  readonly debounceMs: number;
  /** Interval of the fallback stat poll; 0 turns it off. */
  readonly pollIntervalMs: number;
  readonly onChange: () => void;
  readonly onError?: (error: Error) => void;
}

export interface FileWatcher {
  close(): void;
}

interface Signature {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

async function signatureOf(path: string): Promise<Signature | undefined> {
  try {
    const stats = await stat(path);
    return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
  } catch {
    return undefined;
  }
}

const same = (a: Signature | undefined, b: Signature | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs);

export async function watchFile(path: string, options: FileWatcherOptions): Promise<FileWatcher> {
  const name = basename(path);
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;
  let last = await signatureOf(path);

  const schedule = (): void => {
    if (closed) return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      void signatureOf(path).then((current) => {
        last = current;
        if (!closed) options.onChange();
      });
    }, options.debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      // Temp files of the CLI and of claude-creds are renamed onto `name`: only that name matters.
      if (filename === null || filename === name) schedule();
    });
    watcher.on('error', (error) => options.onError?.(error));
  } catch (error) {
    options.onError?.(error as Error);
  }

  const poll =
    options.pollIntervalMs > 0
      ? setInterval(() => {
          void signatureOf(path).then((current) => {
            if (!closed && !same(current, last)) {
              last = current;
              schedule();
            }
          });
        }, options.pollIntervalMs)
      : undefined;
  poll?.unref();

  return {
    close(): void {
      closed = true;
      if (debounce) clearTimeout(debounce);
      if (poll) clearInterval(poll);
      watcher?.close();
    },
  };
}
