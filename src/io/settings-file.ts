/**
 * The Claude CLI's settings file (`settings.json` in the config directory): set `apiKeyHelper` and keep
 * every other key the file holds (permissions, env, hooks...). The merge is pure; the write is atomic.
 * A file that is not a JSON object is the user's to fix: it is refused, never replaced.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Owner } from '../core/config.js';
import { ConfigError, WriteError } from '../core/errors.js';
import { isErrno, writeFileAtomic, type WriteResult } from './atomic-write.js';
import { SafeDirectory } from './safe-directory.js';

/** settings.json holds permissions, hooks and env; a megabyte is far beyond any real one. */
const MAX_SETTINGS_BYTES = 1024 * 1024;

/** `existing` with `apiKeyHelper` set to `command`, key order kept; a missing file starts from `{}`. */
export function mergeApiKeyHelper(existing: string | undefined, command: string, path: string): string {
  let settings: Record<string, unknown> = {};
  const text = existing === undefined ? '' : existing.charCodeAt(0) === 0xfeff ? existing.slice(1) : existing;
  if (text.trim() !== '') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ConfigError(`${path} is not valid JSON; fix or remove it, then run claude-creds again (it was left as it is)`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigError(`${path} is JSON but not an object; fix or remove it (it was left as it is)`);
    }
    settings = value as Record<string, unknown>;
  }
  return `${JSON.stringify({ ...settings, apiKeyHelper: command }, null, 2)}\n`;
}

/** Sets `apiKeyHelper` in the settings file at `path`, creating it (0600) when missing, keeping its mode otherwise. */
export async function writeApiKeyHelper(path: string, command: string, owner: Owner | undefined): Promise<WriteResult> {
  const existing = await readSettings(path, owner);
  const text = existing === undefined ? undefined : existing.bytes.toString('utf8');
  return writeFileAtomic(path, mergeApiKeyHelper(text, command, path), { owner, fileMode: existing === undefined ? 0o600 : existing.mode });
}

/**
 * The settings file's bytes and mode, read inside the directory held open with O_NOFOLLOW: root must not
 * be led by a link (or a hard link) the worker planted to copy another file into one the worker can read.
 */
async function readSettings(path: string, owner: Owner | undefined): Promise<{ bytes: Buffer; mode: number } | undefined> {
  const target = resolve(path);
  const directory = await SafeDirectory.open(dirname(target), { createMode: 0o700, owner });
  let handle;
  try {
    try {
      handle = await open(directory.entry(basename(target)), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      if (isErrno(error, 'ELOOP')) throw new WriteError(`${target} is a symbolic link; refusing to read or replace it (remove it)`);
      throw new ConfigError(`cannot open ${target}: ${directory.describe(error)}`, { cause: error });
    }
    const stats = await handle.stat();
    if (!stats.isFile()) throw new WriteError(`${target} exists and is not a regular file; refusing to replace it`);
    if (stats.nlink !== 1) throw new WriteError(`${target} has ${stats.nlink} hard links; refusing to read it into the config directory (make it a file of its own)`);
    if (stats.size > MAX_SETTINGS_BYTES) throw new ConfigError(`${target} is larger than ${MAX_SETTINGS_BYTES} bytes; refusing to rewrite it`);
    const bytes = Buffer.alloc(stats.size);
    let length = 0;
    while (length < bytes.length) {
      const { bytesRead } = await handle.read(bytes, length, bytes.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { bytes: bytes.subarray(0, length), mode: stats.mode & 0o777 };
  } finally {
    await handle?.close().catch(() => undefined);
    await directory.close();
  }
}
