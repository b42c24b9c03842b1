/**
 * Headless Claude CLIs stop at the onboarding wizard unless `.claude.json` says it was completed. Creates
 * that file when missing; an existing one is never touched (it holds the user's settings).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Owner } from '../core/config.js';
import { WriteError, describeCause } from '../core/errors.js';
import { ensureDirectory, isErrno } from './atomic-write.js';

export async function seedOnboarding(path: string, owner: Owner | undefined): Promise<'created' | 'kept'> {
  await ensureDirectory(dirname(path), 0o700, owner);
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return 'kept';
    throw new WriteError(`cannot create ${path}: ${describeCause(error)}`, { cause: error });
  }
  try {
    if (owner) await handle.chown(owner.uid, owner.gid);
    await handle.writeFile(`${JSON.stringify({ hasCompletedOnboarding: true }, null, 2)}\n`);
  } finally {
    await handle.close();
  }
  return 'created';
}
