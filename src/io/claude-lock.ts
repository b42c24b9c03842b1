/**
 * The Claude CLI's own lock protocol for its config directory, so that claude-creds never writes the
 * credentials file while the CLI is refreshing or writing it: proper-lockfile lock directories
 * `<dir>/.oauth_refresh.lock` and `<dir>.lock` (beside the config dir), stale after 10 s and kept fresh
 * while held. A lock that is held is waited for; a dead holder's lock goes stale and is taken over.
 */
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { StoreUnavailableError, describeCause } from '../core/errors.js';

const STALE_MS = 10_000;
const RETRIES = { retries: 40, factor: 1.2, minTimeout: 25, maxTimeout: 500, randomize: true };

export interface ClaudeLockPaths {
  readonly refreshLock: string;
  readonly dirLock: string;
}

export function claudeLockPaths(configDir: string): ClaudeLockPaths {
  return { refreshLock: join(configDir, '.oauth_refresh.lock'), dirLock: join(dirname(configDir), `${basename(configDir)}.lock`) };
}

/** Runs `task` holding both locks of `configDir`, taken in the CLI's order and released in reverse. */
export async function withClaudeLocks<T>(configDir: string, task: () => Promise<T>): Promise<T> {
  const paths = claudeLockPaths(configDir);
  const releaseRefresh = await acquire(join(configDir, '.oauth_refresh'), paths.refreshLock, true);
  let releaseDir: (() => Promise<void>) | undefined;
  try {
    // Beside the config dir: its parent may be read-only (a mounted volume); the CLI then cannot take it
    // either, so the refresh lock inside the directory is what still excludes it.
    releaseDir = await acquire(configDir, paths.dirLock, false);
    return await task();
  } finally {
    await releaseDir?.().catch(() => undefined);
    await releaseRefresh().catch(() => undefined);
  }
}

async function acquire(target: string, lockPath: string, required: boolean): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(target, {
      lockfilePath: lockPath,
      realpath: false,
      stale: STALE_MS,
      retries: RETRIES,
      onCompromised: () => undefined,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (!required && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM')) return async () => undefined;
    throw new StoreUnavailableError(`cannot take the Claude CLI lock ${lockPath}: ${describeCause(error)}`, { cause: error });
  }
}
