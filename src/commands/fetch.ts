/**
 * fetch: read the credentials from the store, validate them, write the local file atomically.
 * An invalid payload never reaches the disk, and a local file that is newer than the store (the CLI
 * refreshed it since) is kept unless --force says otherwise.
 */
import type { Owner, ProviderChoice } from '../config.js';
import { assessExpiry, isNewer } from '../credentials.js';
import { formatDuration } from '../duration.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { createProvider } from '../providers/registry.js';
import type { CommandContext } from './context.js';
import { readLocalCredentials } from './local-credentials.js';
import { readStore } from './store-access.js';

export interface FetchSettings {
  readonly provider: ProviderChoice;
  readonly out: string;
  readonly owner: Owner | undefined;
  /** Replace a local file even when it is newer than the store's. */
  readonly force: boolean;
}

export type FetchOutcome = 'written' | 'unchanged' | 'kept-newer-local';

export async function fetchCredentials(settings: FetchSettings, context: CommandContext): Promise<FetchOutcome> {
  const { logger } = context;
  const { config, reason } = settings.provider;
  logger.info({ provider: config.name, reason }, `using the ${config.name} provider`);
  const provider = await createProvider(config);
  try {
    logger.info({ location: provider.location }, 'reading credentials from the store');
    const { credentials } = await readStore(provider, context);
    const expiry = assessExpiry(credentials.oauth, context.now(), 0);
    if (expiry.state === 'expired') {
      logger.warn(
        { expiresAt: new Date(expiry.expiresAt).toISOString() },
        `the stored access token expired ${formatDuration(-expiry.msLeft)} ago; writing it anyway (the Claude CLI refreshes it while the refresh token lives)`,
      );
    }

    if (!settings.force) {
      const local = await readLocalCredentials(settings.out).catch(() => undefined);
      if (local?.state === 'valid' && isNewer(local.credentials, credentials)) {
        logger.info(
          { path: settings.out, localExpiresAt: new Date(local.credentials.oauth.expiresAt).toISOString() },
          'the local file is newer than the store; keeping it (use --force to replace it)',
        );
        return 'kept-newer-local';
      }
    }

    const result = await writeFileAtomic(settings.out, credentials.text, { owner: settings.owner });
    logger.info(
      {
        path: settings.out,
        result,
        expiresAt: new Date(expiry.expiresAt).toISOString(),
        expiresIn: formatDuration(expiry.msLeft),
        subscriptionType: credentials.oauth.subscriptionType,
      },
      result === 'written' ? 'credentials written' : 'credentials already up to date',
    );
    return result;
  } finally {
    await provider.close?.();
  }
}
