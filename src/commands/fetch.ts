/**
 * fetch: read the credentials from the store, validate them, write the local file atomically.
 * An invalid payload never reaches the disk, and a local file that is newer than the store (the CLI
 * refreshed it since) is kept unless --force says otherwise.
 */
import type { Owner, ProviderChoice } from '../core/config.js';
import { assessExpiry } from '../core/credentials.js';
import { formatDuration } from '../core/duration.js';
import { DeadlineExceededError, StoreUnavailableError } from '../core/errors.js';
import { decideSync, localCopyText } from '../core/merge.js';
import { withClaudeLocks } from '../io/claude-lock.js';
import { WorkerFile, credentialsOf, documentOf } from '../sync/worker-file.js';
import { createProvider } from '../providers/registry.js';
import type { CommandContext } from '../core/context.js';
import { readLocalCredentials } from '../io/local-credentials.js';
import type { StoreSnapshot } from '../store/store-access.js';
import type { CredentialKind } from '../core/credential-kind.js';
import { deliverOtherKind, readStoreOfKind, type ApiKeyHelperChoice, type KindDelivery } from './kinds.js';

export interface FetchSettings {
  readonly provider: ProviderChoice;
  readonly out: string;
  readonly owner: Owner | undefined;
  /** Replace a local file even when it is newer than the store's. */
  readonly force: boolean;
  /**
   * When the store is unreachable (not when it refuses or holds garbage), keep a valid, unexpired local
   * file from an earlier run instead of failing: an init container can start while the store is down.
   */
  readonly keepExisting?: boolean;
  /** `--kind`; undefined: detected from the secret. Only `oauth` writes the credentials file. */
  readonly kind?: CredentialKind | undefined;
  /** For kind api-key: the `apiKeyHelper` command to set (see commands/kinds.ts). */
  readonly apiKeyHelper?: ApiKeyHelperChoice | undefined;
}

export type FetchOutcome = 'written' | 'unchanged' | 'kept-newer-local' | 'kept-existing';

export async function fetchCredentials(settings: FetchSettings, context: CommandContext): Promise<FetchOutcome | KindDelivery> {
  const { logger } = context;
  const { config, reason } = settings.provider;
  logger.info({ provider: config.name, reason }, `using the ${config.name} provider`);
  const provider = await createProvider(config);
  try {
    logger.info({ location: provider.location }, 'reading credentials from the store');
    let snapshot: StoreSnapshot;
    try {
      const read = await readStoreOfKind(provider, context, settings.kind);
      if (read.secret.kind !== 'oauth') return await deliverOtherKind(read.secret, settings, context);
      snapshot = { credentials: read.secret.credentials, version: read.version };
    } catch (error) {
      const oauthKind = settings.kind === undefined || settings.kind === 'oauth';
      if (oauthKind && settings.keepExisting === true && (await keepExistingFile(error, settings, context))) return 'kept-existing';
      throw error;
    }
    const { credentials } = snapshot;
    const expiry = assessExpiry(credentials.oauth, context.now(), 0);
    if (expiry.state === 'expired') {
      logger.warn(
        { expiresAt: new Date(expiry.expiresAt).toISOString() },
        `the stored access token expired ${formatDuration(-expiry.msLeft)} ago; writing it anyway (the Claude CLI refreshes it while the refresh token lives)`,
      );
    }
    // Under the Claude CLI's locks, deciding on a fresh read: a CLI refreshing this file right now, or a
    // second fetch racing this one, is waited for and then not overwritten with an older login.
    const file = new WorkerFile(settings.out, settings.owner);
    await file.prepareDirectory();
    let outcome = 'unchanged' as FetchOutcome;
    await withClaudeLocks(file.configDir, () =>
      file.update((current) => {
        const local = credentialsOf(current);
        // The same login: rewritten as it is, which the writer turns into nothing but settling the mode
        // and owner and clearing a crashed writer's leftovers.
        if (local !== undefined && local.oauth.accessToken === credentials.oauth.accessToken && local.oauth.refreshToken === credentials.oauth.refreshToken) return local.text;
        if (!settings.force && local !== undefined && decideSync(current.kind === 'valid' ? current : { kind: 'missing' }, { kind: 'valid', credentials }, context.now()) === 'push') {
          outcome = 'kept-newer-local';
          return undefined;
        }
        outcome = 'written';
        // Only the login travels: the worker's own keys (mcpOAuth...) stay as they are.
        return localCopyText(credentials, { document: documentOf(current), credentials: local }, { accessOnly: false });
      }),
    );
    if (outcome === 'kept-newer-local') {
      logger.info({ path: settings.out }, 'the local file holds a newer login than the store; keeping it (use --force to replace it)');
      return outcome;
    }
    logger.info(
      {
        path: settings.out,
        result: outcome,
        expiresAt: new Date(expiry.expiresAt).toISOString(),
        expiresIn: formatDuration(expiry.msLeft),
        subscriptionType: credentials.oauth.subscriptionType,
        ...(credentials.oauth.refreshTokenExpiresAt === undefined ? {} : { loginEndsAt: new Date(credentials.oauth.refreshTokenExpiresAt).toISOString() }),
      },
      outcome === 'written' ? 'credentials written' : 'credentials already up to date',
    );
    return outcome;
  } finally {
    await provider.close?.();
  }
}

/**
 * --keep-existing: true when `error` only says the store is unreachable for now and the local file is
 * valid with an unexpired access token, so it may stand. Denied, missing or invalid secrets are real
 * faults that must not be masked, and an expired local token would only fail later, in the worker.
 */
async function keepExistingFile(error: unknown, settings: FetchSettings, context: CommandContext): Promise<boolean> {
  if (!(error instanceof StoreUnavailableError || error instanceof DeadlineExceededError)) return false;
  const { logger } = context;
  const local = await readLocalCredentials(settings.out).catch(() => undefined);
  if (local?.state !== 'valid') {
    logger.warn({ path: settings.out, local: local?.state ?? 'unreadable' }, '--keep-existing: no valid local file to keep');
    return false;
  }
  const expiry = assessExpiry(local.credentials.oauth, context.now(), 0);
  if (expiry.state === 'expired') {
    logger.warn(
      { path: settings.out, expiresAt: new Date(expiry.expiresAt).toISOString() },
      '--keep-existing: the local access token has expired; not keeping it',
    );
    return false;
  }
  logger.warn(
    {
      path: settings.out,
      reason: error instanceof Error ? error.message : String(error),
      expiresAt: new Date(expiry.expiresAt).toISOString(),
      expiresIn: formatDuration(expiry.msLeft),
    },
    'the store is unavailable; keeping the existing local file (--keep-existing)',
  );
  return true;
}
