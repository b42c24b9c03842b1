/**
 * api-key: the Claude CLI's `apiKeyHelper`. Prints the key on stdout and nothing else, fast: from a
 * short-lived local cache (0600, beside the settings), re-reading the store only when the cache is
 * missing or stale, or when the CLI calls again right after serving (it re-runs its helper on a 401,
 * so the key was probably rotated). When the store cannot be read, a cached key is still served, with
 * a warning on stderr: an API key does not expire by time, and failing would only stop the worker.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ProviderChoice } from '../core/config.js';
import { API_KEY_SERVED_SUFFIX, decideApiKeyServe, parseApiKeyCache, type ApiKeyCacheRecord } from '../core/credential-kind.js';
import { NotFoundError, describeCause } from '../core/errors.js';
import { readRegularFile } from '../io/local-file.js';
import { createProvider } from '../providers/registry.js';
import type { CommandContext } from '../core/context.js';
import { readStoreOfKind, writeApiKeyCache } from './kinds.js';

export interface ApiKeyHelperSettings {
  readonly cachePath: string;
  readonly cacheTtlMs: number;
  readonly recallWindowMs: number;
  /** Only asked for when the store must be read: a fresh cache needs no store settings at all. */
  readonly provider: () => ProviderChoice;
}

/** The key to print. Throws (one line, an exit code) only when there is no key at all to give. */
export async function serveApiKey(settings: ApiKeyHelperSettings, context: CommandContext): Promise<string> {
  const { logger } = context;
  const now = context.now();
  const cache = await readCache(settings.cachePath, context);
  const lastServedAt = cache === undefined ? undefined : await readServedMark(settings.cachePath);
  const decision = decideApiKeyServe(cache && { fetchedAt: cache.fetchedAt, lastServedAt }, now, settings.cacheTtlMs, settings.recallWindowMs);
  let apiKey = cache?.apiKey;
  if (decision.action === 'refetch') {
    try {
      apiKey = await refetch(settings, context, now);
      logger.info({ reason: decision.reason, cachePath: settings.cachePath }, 'API key read from the store and cached');
    } catch (error) {
      if (apiKey === undefined) throw error;
      logger.warn({ reason: decision.reason, error: describeCause(error) }, 'could not re-read the API key from the store; serving the cached one');
    }
  }
  await markServed(settings.cachePath, now).catch((error: unknown) => logger.warn({ error: describeCause(error) }, 'could not record the serve time'));
  return apiKey as string;
}

async function refetch(settings: ApiKeyHelperSettings, context: CommandContext, now: number): Promise<string> {
  const { config } = settings.provider();
  const provider = await createProvider(config);
  try {
    const { secret } = await readStoreOfKind(provider, context, 'api-key');
    if (secret.kind !== 'api-key') throw new Error('unreachable: parsed as api-key');
    await writeApiKeyCache(settings.cachePath, secret.apiKey, now);
    return secret.apiKey;
  } finally {
    await provider.close?.();
  }
}

async function readCache(path: string, context: CommandContext): Promise<ApiKeyCacheRecord | undefined> {
  let text: string;
  try {
    text = (await readRegularFile(path)).toString('utf8');
  } catch (error) {
    if (!(error instanceof NotFoundError)) context.logger.warn({ path, error: describeCause(error) }, 'cannot read the API key cache; reading the store');
    return undefined;
  }
  const cache = parseApiKeyCache(text);
  if (cache === undefined) context.logger.warn({ path }, 'the API key cache is not valid; reading the store');
  return cache;
}

async function readServedMark(cachePath: string): Promise<number | undefined> {
  try {
    const value = Number((await readRegularFile(cachePath + API_KEY_SERVED_SUFFIX)).toString('utf8').trim());
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A time, no secret: written in place (O_NOFOLLOW), a torn read only costs one store read. */
async function markServed(cachePath: string, now: number): Promise<void> {
  const handle = await open(cachePath + API_KEY_SERVED_SUFFIX, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(`${now}\n`);
  } finally {
    await handle.close();
  }
}
