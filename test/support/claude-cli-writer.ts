import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * Writes the credentials file the way the Claude CLI does: both proper-lockfile lock directories
 * (`<dir>/.oauth_refresh.lock`, `<dir>.lock`), a `.credentials.json.tmp.<hex>` file 0600, then rename.
 */
export async function writeLikeClaudeCli(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const options = { realpath: false, stale: 10_000, retries: { retries: 50, minTimeout: 20, maxTimeout: 200 } };
  const releaseRefresh = await lockfile.lock(join(dir, '.oauth_refresh'), { ...options, lockfilePath: join(dir, '.oauth_refresh.lock') });
  const releaseDir = await lockfile.lock(dir, { ...options, lockfilePath: join(dirname(dir), `${basename(dir)}.lock`) });
  try {
    const temp = `${path}.tmp.${randomBytes(4).toString('hex')}`;
    writeFileSync(temp, text, { mode: 0o600 });
    renameSync(temp, path);
  } finally {
    await releaseDir();
    await releaseRefresh();
  }
}

/** An in-place rewrite (truncate and write the same inode), as some editors and scripts do. */
export function writeInPlace(path: string, text: string): void {
  writeFileSync(path, text);
}
