/**
 * The Claude CLI's settings file (`settings.json` in the config directory): set `apiKeyHelper` and keep
 * every other key the file holds (permissions, env, hooks...). The merge is pure; the write is atomic.
 * A file that is not a JSON object is the user's to fix: it is refused, never replaced.
 */
import { lstat } from 'node:fs/promises';
import type { Owner } from '../core/config.js';
import { ConfigError, NotFoundError } from '../core/errors.js';
import { writeFileAtomic, type WriteResult } from './atomic-write.js';
import { readRegularFile } from './local-file.js';

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
  let existing: string | undefined;
  let mode = 0o600;
  try {
    existing = (await readRegularFile(path)).toString('utf8');
    mode = (await lstat(path)).mode & 0o777;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  return writeFileAtomic(path, mergeApiKeyHelper(existing, command, path), { owner, fileMode: mode });
}
