/**
 * Headless Claude CLIs stop at the onboarding wizard unless `.claude.json` says it was completed. Creates
 * that file when missing; an existing one is never touched (it holds the user's settings). Created inside
 * the directory held open (see safe-directory.ts), so a directory swapped meanwhile cannot redirect it.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Owner } from '../core/config.js';
import { WriteError } from '../core/errors.js';
import { isErrno } from './atomic-write.js';
import { SafeDirectory } from './safe-directory.js';

export async function seedOnboarding(path: string, owner: Owner | undefined): Promise<'created' | 'kept'> {
  const target = resolve(path);
  // Without CLAUDE_CONFIG_DIR the file sits in $HOME: created for the owner when missing, never taken over.
  const directory = await SafeDirectory.open(dirname(target), { createMode: 0o700, owner, giveExisting: false });
  try {
    let handle;
    try {
      handle = await open(directory.entry(basename(target)), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return 'kept';
      throw new WriteError(`cannot create ${target}: ${directory.describe(error)}`, { cause: error });
    }
    try {
      if (owner) await handle.chown(owner.uid, owner.gid);
      await handle.writeFile(`${JSON.stringify({ hasCompletedOnboarding: true }, null, 2)}\n`);
    } finally {
      await handle.close();
    }
    await directory.verify();
    return 'created';
  } finally {
    await directory.close();
  }
}
