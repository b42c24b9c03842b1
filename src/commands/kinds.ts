/**
 * The I/O edges of the credential kinds (src/credential-kind.ts): reading a secret of any kind from
 * the store, delivering an API key (settings.json + helper cache) or a setup token (a status record;
 * the token itself goes to the worker through a descriptor), and `status` for both.
 */
import { closeSync, constants, fchownSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Owner, ProviderChoice } from '../core/config.js';
import {
  API_KEY_CACHE_NAME,
  OAUTH_TOKEN_INFO_NAME,
  SETTINGS_FILE_NAME,
  buildHelperCommand,
  formatApiKeyCache,
  formatOAuthTokenInfo,
  parseApiKeyCache,
  parseOAuthTokenInfo,
  parseSecret,
  type ApiKeySecret,
  type CredentialKind,
  type KindSecret,
  type OAuthTokenSecret,
} from '../core/credential-kind.js';
import { formatDuration } from '../core/duration.js';
import { InvalidCredentialsError, NotFoundError, WriteError, describeCause } from '../core/errors.js';
import { writeFileAtomic, type WriteResult } from '../io/atomic-write.js';
import { readRegularFile } from '../io/local-file.js';
import { writeApiKeyHelper } from '../io/settings-file.js';
import type { Provider } from '../core/provider.js';
import { withRetry } from '../core/retry.js';
import type { CommandContext } from '../core/context.js';
import type { StatusReport } from './status.js';

/** Reads the secret under the shared retry policy and parses it as `kind`, or as the kind it shows. */
export async function readStoreOfKind(provider: Provider, context: CommandContext, kind: CredentialKind | undefined): Promise<{ secret: KindSecret; version: string | undefined }> {
  const stored = await withRetry(
    `reading ${provider.location}`,
    (attempt) => provider.read({ signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
    context.retry,
    { onRetry: ({ attempt, delayMs, error }) => context.logger.warn({ attempt, delayMs, reason: error.message }, 'store read failed; retrying') },
  );
  return { secret: parseSecret(stored.payload, kind), version: stored.version };
}

export interface ApiKeyHelperChoice {
  /** `--helper-command`: used as it is. */
  readonly command?: string | undefined;
  /** How to run this claude-creds again (node, its flags, the entry), for the generated command. */
  readonly invocation: readonly string[];
}

export interface KindDeliverySettings {
  readonly provider: ProviderChoice;
  /** The credentials path fetch was given; its directory is the Claude config directory. */
  readonly out: string;
  readonly owner: Owner | undefined;
  readonly apiKeyHelper?: ApiKeyHelperChoice | undefined;
}

export type KindDelivery =
  | { readonly kind: 'api-key'; readonly settingsPath: string; readonly settings: WriteResult; readonly cachePath: string }
  | { readonly kind: 'oauth-token'; readonly secret: OAuthTokenSecret; readonly infoPath: string };

export function apiKeyCachePath(out: string): string {
  return join(dirname(out), API_KEY_CACHE_NAME);
}

export function oauthTokenInfoPath(out: string): string {
  return join(dirname(out), OAUTH_TOKEN_INFO_NAME);
}

/** Delivers an api-key or oauth-token secret; never writes `.credentials.json`. */
export async function deliverOtherKind(secret: ApiKeySecret | OAuthTokenSecret, settings: KindDeliverySettings, context: CommandContext): Promise<KindDelivery> {
  if (secret.kind === 'api-key') return deliverApiKey(secret, settings, context);
  const expiry = secret.expiresAt === undefined ? undefined : secret.expiresAt - context.now();
  if (expiry !== undefined && expiry <= 0) {
    throw new InvalidCredentialsError(
      'wrong-type',
      `the stored setup token expired ${formatDuration(-expiry)} ago (${new Date(secret.expiresAt as number).toISOString()}); run \`claude setup-token\` again and store the new token`,
    );
  }
  const infoPath = oauthTokenInfoPath(settings.out);
  await writeFileAtomic(infoPath, formatOAuthTokenInfo(secret, context.now()), { owner: settings.owner });
  context.logger.info(
    {
      infoPath,
      expiresAt: secret.expiresAt === undefined ? 'unknown' : new Date(secret.expiresAt).toISOString(),
      ...(expiry === undefined ? {} : { expiresIn: formatDuration(expiry) }),
    },
    'setup token read (kind oauth-token)',
  );
  return { kind: 'oauth-token', secret, infoPath };
}

async function deliverApiKey(secret: ApiKeySecret, settings: KindDeliverySettings, context: CommandContext): Promise<KindDelivery> {
  const cachePath = apiKeyCachePath(settings.out);
  const settingsPath = join(dirname(settings.out), SETTINGS_FILE_NAME);
  // The cache first: once settings.json names the helper, its first call is served from here.
  await writeApiKeyCache(cachePath, secret.apiKey, context.now(), settings.owner);
  const { config } = settings.provider;
  const command =
    settings.apiKeyHelper?.command ??
    buildHelperCommand(
      settings.apiKeyHelper?.invocation ?? ['claude-creds'],
      {
        provider: config.name,
        secret: config.secret,
        region: config.region,
        endpoint: config.endpoint,
        project: config.project,
        vaultUrl: config.vaultUrl,
        caFile: config.caFile,
      },
      cachePath,
    );
  const result = await writeApiKeyHelper(settingsPath, command, settings.owner);
  context.logger.info(
    { settingsPath, result, cachePath, apiKeyHelper: command },
    result === 'written' ? 'settings.json: apiKeyHelper set (kind api-key); the Claude CLI will ask claude-creds for the key' : 'settings.json already names the helper',
  );
  return { kind: 'api-key', settingsPath, settings: result, cachePath };
}

export async function writeApiKeyCache(path: string, apiKey: string, now: number, owner?: Owner): Promise<void> {
  await writeFileAtomic(path, formatApiKeyCache(apiKey, now), { owner });
}

/**
 * The setup token as a read-only descriptor for the child (its stdio index 3 and up). Not a pipe: Node
 * can only make socket pairs, and the Claude CLI reads the descriptor through /proc/self/fd/N (or
 * /dev/fd/N), which cannot open a socket. So: a file created 0600 with O_EXCL in memory-backed /dev/shm
 * (else the temp directory), opened read-only and unlinked at once; only the open descriptor remains,
 * in this process until the child is started and in the child after. The caller closes ours. With
 * `user`, the file is that user's, so the command running as them can re-open the descriptor.
 */
export function openTokenDescriptor(token: string, user?: Owner): number {
  const dir = memoryDirectory();
  const path = join(dir, `.claude-creds-token-${randomBytes(12).toString('hex')}`);
  let writer: number | undefined;
  try {
    writer = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    // The CLI re-opens /proc/self/fd/3, which checks the file's owner and mode: a command run as --user
    // must own it. Nobody else can reach it: it is unlinked below and only held by descriptors.
    if (user !== undefined) fchownSync(writer, user.uid, user.gid);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    unlinkSync(path);
    const bytes = Buffer.from(token, 'utf8');
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(writer, bytes, offset, bytes.length - offset);
    return reader;
  } catch (error) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    throw new WriteError(`cannot prepare the token descriptor in ${dir}: ${describeCause(error)}`, { cause: error });
  } finally {
    if (writer !== undefined) closeSync(writer);
  }
}

function memoryDirectory(): string {
  try {
    if (process.platform === 'linux' && statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // no /dev/shm: the temp directory will do
  }
  return tmpdir();
}

// ---------------------------------------------------------------------------------------------------
// status

/** `status` for an api-key delivery: the cache (present, age) and whether settings.json names a helper. */
export async function apiKeyStatus(out: string, now: number): Promise<StatusReport> {
  const path = apiKeyCachePath(out);
  const helperConfigured = await settingsHaveHelper(join(dirname(out), SETTINGS_FILE_NAME));
  let text: string;
  try {
    text = (await readRegularFile(path)).toString('utf8');
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return { path, kind: 'api-key', state: 'missing', present: false, valid: false, problem: `${path} does not exist (run claude-creds fetch --kind api-key)`, helperConfigured };
  }
  const cache = parseApiKeyCache(text);
  if (cache === undefined) {
    return { path, kind: 'api-key', state: 'invalid', present: true, valid: false, problem: `${path} is not a claude-creds API key cache`, helperConfigured };
  }
  return {
    path,
    kind: 'api-key',
    state: 'valid',
    present: true,
    valid: true,
    fetchedAt: new Date(cache.fetchedAt).toISOString(),
    cacheAgeSeconds: Math.max(0, Math.round((now - cache.fetchedAt) / 1000)),
    helperConfigured,
  };
}

/** `status` for a handed-over setup token: its expiry when the secret said it, from the status record. */
export async function oauthTokenStatus(out: string, now: number, warnBeforeMs: number): Promise<StatusReport> {
  const path = oauthTokenInfoPath(out);
  let text: string;
  try {
    text = (await readRegularFile(path)).toString('utf8');
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return { path, kind: 'oauth-token', state: 'missing', present: false, valid: false, problem: `${path} does not exist (no setup token was handed over here)` };
  }
  const info = parseOAuthTokenInfo(text);
  if (info === undefined) return { path, kind: 'oauth-token', state: 'invalid', present: true, valid: false, problem: `${path} is not a claude-creds token record` };
  const base = { path, kind: 'oauth-token' as const, present: true, fetchedAt: new Date(info.fetchedAt).toISOString() };
  if (info.expiresAt === null) return { ...base, state: 'valid', valid: true, expiresAt: null };
  const msLeft = info.expiresAt - now;
  const state = msLeft <= 0 ? 'expired' : msLeft <= warnBeforeMs ? 'expiring' : 'valid';
  return { ...base, state, valid: state !== 'expired', expiresAt: new Date(info.expiresAt).toISOString(), expiresInSeconds: Math.round(msLeft / 1000) };
}

async function settingsHaveHelper(path: string): Promise<boolean> {
  try {
    const value = JSON.parse((await readRegularFile(path)).toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && typeof (value as { apiKeyHelper?: unknown }).apiKeyHelper === 'string';
  } catch {
    return false;
  }
}
