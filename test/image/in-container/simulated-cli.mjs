// A stand-in for the Claude CLI's refresh, run in its own container on the shared config volume: it
// reads the new credentials document on stdin and writes it the way the CLI does: under the CLI's
// lock directories (proper-lockfile's mkdir locks, `<dir>/.oauth_refresh.lock`, then `<dir>.lock`
// when the parent lets it), to a `.credentials.json.tmp.<hex>` file 0600, renamed over the file.
// Like the CLI it refuses to go backwards: the new expiresAt must be later than the file's.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const dir = process.env.CLAUDE_CONFIG_DIR;
const file = join(dir, '.credentials.json');
const next = readFileSync(0, 'utf8');
const expiry = (text) => JSON.parse(text).claudeAiOauth.expiresAt;

function lock(path) {
  for (let tries = 0; ; tries += 1) {
    try {
      mkdirSync(path);
      return true;
    } catch (error) {
      if (error.code === 'EACCES' || error.code === 'EROFS') return false; // the parent is not ours
      if (error.code !== 'EEXIST' || tries > 100) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

const refreshLock = join(dir, '.oauth_refresh.lock');
const dirLock = join(dirname(dir), `${basename(dir)}.lock`);
lock(refreshLock);
const tookDirLock = lock(dirLock);
try {
  if (expiry(next) <= expiry(readFileSync(file, 'utf8'))) throw new Error('the new login is not newer than the file');
  const temp = `${file}.tmp.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, next, { mode: 0o600, flag: 'wx' });
  renameSync(temp, file);
} finally {
  if (tookDirLock) rmdirSync(dirLock);
  rmdirSync(refreshLock);
}
console.log(JSON.stringify({ refreshed: true, dirLock: tookDirLock }));
