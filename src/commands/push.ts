/**
 * push: the bootstrap after `claude login`: validate the local file and store it as the store's next
 * generation. Never replaces a newer login in the store (unless --force), replaces a store document that
 * is no login at all, and re-decides when another writer wins a race: on a store
 * without compare-and-swap over every version written since the one read (resolveConflict), so the
 * freshest login ends on top whichever of the two writes landed last.
 */
import type { ProviderChoice } from '../core/config.js';
import { parseCredentials, type Credentials } from '../core/credentials.js';
import { compareLogins, isFromClockAhead, mayReplace, sameTokens } from '../core/freshness.js';
import { pushedDocumentText } from '../core/merge.js';
import { ConflictError, StaleWriteError } from '../core/errors.js';
import { readRegularFile } from '../io/local-file.js';
import { createProvider } from '../providers/registry.js';
import type { CommandContext } from '../core/context.js';
import { resolveConflict } from '../store/resolve-conflict.js';
import { writeStore } from '../store/store-access.js';
import { generationOf, readStoreView, versionOf } from '../sync/store-view.js';

export interface PushSettings {
  readonly provider: ProviderChoice;
  readonly from: string;
  readonly force: boolean;
}

export type PushOutcome = 'stored' | 'unchanged';

/**
 * The store's login stays unless ours may replace it (core/freshness.ts): a newer login (a later
 * `claude login`) always may; an older login never; within one login only a later expiry, and never one
 * from a clock running ahead. `--force` skips this.
 */
function refuseOlder(local: Credentials, stored: Credentials, location: string, from: string, now: number): void {
  if (mayReplace(local, stored, now)) return;
  const ends = (credentials: Credentials): string =>
    credentials.oauth.refreshTokenExpiresAt === undefined ? '' : `, its login ending ${new Date(credentials.oauth.refreshTokenExpiresAt).toISOString()}`;
  const what =
    compareLogins(local, stored) === 'older'
      ? `a newer login (one signed in later${ends(stored)}) than ${from}${ends(local)}`
      : isFromClockAhead(local, now)
        ? `credentials ${from} cannot be compared with: its expiry ${new Date(local.oauth.expiresAt).toISOString()} is more than 9h ahead of this machine's clock (a clock that runs ahead wrote it)`
        : `newer credentials (expiring ${new Date(stored.oauth.expiresAt).toISOString()}) than ${from} (${new Date(local.oauth.expiresAt).toISOString()})`;
  throw new StaleWriteError(`${location} holds ${what}; not replacing them (use --force to override)`);
}

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
      const view = await readStoreView(provider, context);
      const stored = view.kind === 'valid' ? view.credentials : undefined;
      if (stored !== undefined && sameTokens(stored, local)) {
        if (mayHaveLanded) {
          logger.info({ location: provider.location, version: versionOf(view) }, 'credentials stored');
          return 'stored';
        }
        logger.info({ location: provider.location }, 'the store already holds these credentials');
        return 'unchanged';
      }
      if (stored !== undefined && !settings.force) refuseOlder(local, stored, provider.location, settings.from, context.now());
      if (view.kind === 'invalid') logger.warn({ location: provider.location, reason: view.reason }, 'the store holds an invalid credentials document; replacing it');
      // The store's next generation: every sidecar pulls it, whatever the clocks say (core/freshness.ts).
      const text = pushedDocumentText(local, { generation: generationOf(view) + 1, writtenAt: context.now(), writer: 'push' });
      try {
        const outcome = await writeStore(provider, text, versionOf(view), context);
        logger.info(
          {
            location: provider.location,
            version: outcome.version,
            expiresAt: new Date(local.oauth.expiresAt).toISOString(),
            ...(local.oauth.refreshTokenExpiresAt === undefined ? {} : { loginEndsAt: new Date(local.oauth.refreshTokenExpiresAt).toISOString() }),
          },
          'credentials stored',
        );
        return 'stored';
      } catch (error) {
        if (!(error instanceof ConflictError) || round >= MAX_CONFLICT_ROUNDS) throw error;
        logger.warn({ round }, 'another writer changed the store meanwhile; re-reading');
        mayHaveLanded ||= provider.writes === 'detect-conflict';
        // --force means this login goes on top whatever the store holds: nothing to re-decide then.
        if (!settings.force) await resolveConflict(provider, versionOf(view), context);
      }
    }
  } finally {
    await provider.close?.();
  }
}
