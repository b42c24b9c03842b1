/**
 * push: the bootstrap after `claude login`: validate the local file and store it. Never replaces a
 * newer login in the store (unless --force), and re-decides when another writer wins a race: on a store
 * without compare-and-swap over every version written since the one read (resolveConflict), so the
 * freshest login ends on top whichever of the two writes landed last.
 */
import type { ProviderChoice } from '../core/config.js';
import { isNewer, parseCredentials } from '../core/credentials.js';
import { ConflictError, StaleWriteError } from '../core/errors.js';
import { readRegularFile } from '../io/local-file.js';
import { createProvider } from '../providers/registry.js';
import type { CommandContext } from '../core/context.js';
import { resolveConflict } from '../store/resolve-conflict.js';
import { readStoreIfPresent, writeStore } from '../store/store-access.js';

export interface PushSettings {
  readonly provider: ProviderChoice;
  readonly from: string;
  readonly force: boolean;
}

export type PushOutcome = 'stored' | 'unchanged';

const MAX_CONFLICT_ROUNDS = 5;

export async function pushCredentials(settings: PushSettings, context: CommandContext): Promise<PushOutcome> {
  const { logger } = context;
  const local = parseCredentials(await readRegularFile(settings.from));
  const { config, reason } = settings.provider;
  logger.info({ provider: config.name, reason }, `using the ${config.name} provider`);
  const provider = await createProvider(config);
  try {
    if (provider.writes === 'none') await provider.write({ payload: '', expectedVersion: undefined });
    // On a store without compare-and-swap, a write that ended in a conflict may have landed all the same.
    let mayHaveLanded = false;
    for (let round = 1; ; round += 1) {
      const stored = await readStoreIfPresent(provider, context);
      if (stored?.credentials.text === local.text) {
        if (mayHaveLanded) {
          logger.info({ location: provider.location, version: stored.version }, 'credentials stored');
          return 'stored';
        }
        logger.info({ location: provider.location }, 'the store already holds these credentials');
        return 'unchanged';
      }
      if (stored && !settings.force && isNewer(stored.credentials, local)) {
        throw new StaleWriteError(
          `${provider.location} holds newer credentials (expiring ${new Date(stored.credentials.oauth.expiresAt).toISOString()}) than ${settings.from} (${new Date(local.oauth.expiresAt).toISOString()}); not replacing them (use --force to override)`,
        );
      }
      try {
        const outcome = await writeStore(provider, local.text, stored?.version, context);
        logger.info(
          { location: provider.location, version: outcome.version, expiresAt: new Date(local.oauth.expiresAt).toISOString() },
          'credentials stored',
        );
        return 'stored';
      } catch (error) {
        if (!(error instanceof ConflictError) || round >= MAX_CONFLICT_ROUNDS) throw error;
        logger.warn({ round }, 'another writer changed the store meanwhile; re-reading');
        mayHaveLanded ||= provider.writes === 'detect-conflict';
        // --force means this login goes on top whatever the store holds: nothing to re-decide then.
        if (!settings.force) await resolveConflict(provider, stored?.version, context);
      }
    }
  } finally {
    await provider.close?.();
  }
}
