/**
 * Credential kinds: what a secret holds and how each kind is told apart, validated and handed over.
 * Pure: no fs, no process, no clock (callers pass `now`).
 *
 * - `oauth`: the `.credentials.json` document of a subscription login (see credentials.ts).
 * - `api-key`: an Anthropic API key (`sk-ant-api03-...`), raw or as `{"apiKey": "..."}`; delivered
 *   through the Claude CLI's `apiKeyHelper`, never as `.credentials.json`.
 * - `oauth-token`: a long-lived token from `claude setup-token` (`sk-ant-oat01-...`, no refresh token),
 *   raw or as `{"oauthToken": "...", "expiresAt": ms}`; handed to the worker through an inherited file
 *   descriptor (or a variable on request), never written to disk by claude-creds.
 *
 * Messages never contain a key or token: they name kinds, fields and sizes only.
 */
import { MAX_PAYLOAD_BYTES, parseCredentials, type Credentials } from './credentials.js';
import { InvalidCredentialsError, UsageError } from './errors.js';
import type { ProviderOptions } from './config.js';

export const CREDENTIAL_KINDS = ['oauth', 'api-key', 'oauth-token'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** Beside `.credentials.json` in the config directory: the helper's key cache (0600; holds the key). */
export const API_KEY_CACHE_NAME = '.claude-creds-api-key-cache';
/** When the helper last printed the key (a time, no secret): how a re-call right after a 401 is recognised. */
export const API_KEY_SERVED_SUFFIX = '.served';
/** What claude-creds knows about a handed-over setup token, for `status`: its expiry, never the token. */
export const OAUTH_TOKEN_INFO_NAME = '.claude-creds-oauth-token.json';
/** The Claude CLI's settings file, where `apiKeyHelper` goes. */
export const SETTINGS_FILE_NAME = 'settings.json';

/** A little under the Claude CLI's default helper TTL (5 minutes, CLAUDE_CODE_API_KEY_HELPER_TTL_MS). */
export const DEFAULT_API_KEY_CACHE_TTL_MS = 4 * 60_000;
/**
 * The CLI calls the helper once per TTL, and again at once when the API answers 401. A call that comes
 * within this window of the previous one is taken for the latter: the cached key was rejected.
 */
export const DEFAULT_RECALL_WINDOW_MS = 30_000;

const MAX_DATE_MS = 8.64e15;
const API_KEY_PREFIX = /^sk-ant-api\d*-/;
const OAUTH_TOKEN_PREFIX = /^sk-ant-oat\d*-/;
const REFRESH_TOKEN_PREFIX = /^sk-ant-ort\d*-/;
/** One printable ASCII word: what keys and tokens are. Anything else is refused rather than guessed at. */
const TOKEN_WORD = /^[\x21-\x7e]+$/;
const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_LENGTH = 8192;

export interface ApiKeySecret {
  readonly kind: 'api-key';
  readonly apiKey: string;
}

export interface OAuthTokenSecret {
  readonly kind: 'oauth-token';
  readonly token: string;
  /** Milliseconds since the epoch, when the secret said so (JSON form); unknown for a bare token. */
  readonly expiresAt: number | undefined;
}

export interface OAuthSecret {
  readonly kind: 'oauth';
  readonly credentials: Credentials;
}

export type KindSecret = OAuthSecret | ApiKeySecret | OAuthTokenSecret;

export function isCredentialKind(text: string): text is CredentialKind {
  return (CREDENTIAL_KINDS as readonly string[]).includes(text);
}

/** `--kind` / CLAUDE_CREDS_KIND; undefined (or empty) means "detect from the secret". */
export function parseKindOption(text: string | undefined): CredentialKind | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const kind = text.trim().toLowerCase();
  if (!isCredentialKind(kind)) throw new UsageError(`--kind takes one of ${CREDENTIAL_KINDS.join(', ')}, not "${text}"`);
  return kind;
}

/**
 * The kind a payload holds. An API key or setup token (raw, JSON-wrapped, or base64 of either) is
 * recognised by its form; everything else is `oauth`, so a malformed payload gets the credentials
 * parser's own precise complaint, exactly as before kinds existed.
 */
export function detectKind(payload: string | Uint8Array): CredentialKind {
  return evidentKind(payload) ?? 'oauth';
}

/** The kind the payload shows evidence of, or undefined when it shows none. */
function evidentKind(payload: string | Uint8Array): CredentialKind | undefined {
  const text = tryText(payload);
  if (text === undefined) return undefined;
  return kindOfText(text) ?? kindOfText(tryBase64(text) ?? '');
}

function kindOfText(raw: string): CredentialKind | undefined {
  const text = raw.trim();
  if (API_KEY_PREFIX.test(text)) return 'api-key';
  if (OAUTH_TOKEN_PREFIX.test(text)) return 'oauth-token';
  if (!text.startsWith('{')) return undefined;
  const value = tryJson(text);
  if (!isRecord(value)) return undefined;
  if ('claudeAiOauth' in value) return 'oauth';
  if (typeof value.oauthToken === 'string') return 'oauth-token';
  if (typeof value.apiKey === 'string') return 'api-key';
  return undefined;
}

/** Parse the payload as `kind`, or as the detected kind when none is given. Throws InvalidCredentialsError. */
export function parseSecret(payload: string | Uint8Array, kind?: CredentialKind): KindSecret {
  const chosen = kind ?? detectKind(payload);
  if (kind !== undefined) refuseOtherKind(payload, kind);
  switch (chosen) {
    case 'oauth':
      return { kind: 'oauth', credentials: parseCredentials(payload) };
    case 'api-key':
      return parseApiKey(payload);
    case 'oauth-token':
      return parseOAuthToken(payload);
  }
}

function refuseOtherKind(payload: string | Uint8Array, kind: CredentialKind): void {
  const evident = evidentKind(payload);
  if (evident === undefined || evident === kind) return;
  throw new InvalidCredentialsError(
    'wrong-type',
    `the secret holds ${describeKind(evident)}, not ${describeKind(kind)}: use --kind ${evident}, or leave --kind out to detect it`,
  );
}

export function describeKind(kind: CredentialKind): string {
  if (kind === 'oauth') return 'a .credentials.json login (kind oauth)';
  if (kind === 'api-key') return 'an API key (kind api-key)';
  return 'a `claude setup-token` token (kind oauth-token)';
}

export function parseApiKey(payload: string | Uint8Array): ApiKeySecret {
  const text = secretText(payload, 'API key');
  const value = unwrap(text, 'apiKey', 'API key');
  const apiKey = checkWord(value.word, 'API key');
  if (OAUTH_TOKEN_PREFIX.test(apiKey) || REFRESH_TOKEN_PREFIX.test(apiKey)) {
    throw new InvalidCredentialsError('wrong-type', 'the secret holds an OAuth token, not an API key: use --kind oauth-token');
  }
  return { kind: 'api-key', apiKey };
}

export function parseOAuthToken(payload: string | Uint8Array): OAuthTokenSecret {
  const text = secretText(payload, 'OAuth token');
  const value = unwrap(text, 'oauthToken', 'OAuth token');
  const token = checkWord(value.word, 'OAuth token');
  if (REFRESH_TOKEN_PREFIX.test(token)) {
    throw new InvalidCredentialsError('wrong-type', 'the secret holds a refresh token; store the token `claude setup-token` printed (sk-ant-oat01-...)');
  }
  if (API_KEY_PREFIX.test(token)) {
    throw new InvalidCredentialsError('wrong-type', 'the secret holds an API key, not an OAuth token: use --kind api-key');
  }
  const expiresAt = value.record?.expiresAt;
  if (expiresAt !== undefined && expiresAt !== null) {
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= 0 || expiresAt > MAX_DATE_MS) {
      throw new InvalidCredentialsError('wrong-type', '"expiresAt" must be a positive time in milliseconds');
    }
    return { kind: 'oauth-token', token, expiresAt };
  }
  return { kind: 'oauth-token', token, expiresAt: undefined };
}

/** The text of a key/token payload: size-checked, UTF-8, BOM and surrounding blanks removed, base64 undone. */
function secretText(payload: string | Uint8Array, what: string): string {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) {
    throw new InvalidCredentialsError('too-large', `the ${what} payload is ${size} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit`);
  }
  const text = tryText(payload);
  if (text === undefined) throw new InvalidCredentialsError('invalid-json', `the ${what} payload is not valid UTF-8 text`);
  const trimmed = text.trim();
  if (trimmed === '') throw new InvalidCredentialsError('empty', `the ${what} payload is empty`);
  if (trimmed.startsWith('{') || trimmed.startsWith('sk-ant-')) return trimmed;
  const decoded = tryBase64(trimmed)?.trim();
  return decoded !== undefined && (decoded.startsWith('{') || decoded.startsWith('sk-ant-')) ? decoded : trimmed;
}

/** A bare word, or the named field of a small JSON object. */
function unwrap(text: string, field: string, what: string): { word: string; record?: Record<string, unknown> } {
  if (!text.startsWith('{')) return { word: text };
  const value = tryJson(text);
  if (value === undefined) throw new InvalidCredentialsError('invalid-json', `the ${what} payload starts like JSON but is not valid JSON`);
  if (!isRecord(value)) throw new InvalidCredentialsError('not-an-object', `the ${what} payload is JSON but not an object`);
  if ('claudeAiOauth' in value) {
    throw new InvalidCredentialsError('wrong-type', `the secret holds ${describeKind('oauth')}, not an ${what}: use --kind oauth`);
  }
  const word = value[field];
  if (word === undefined || word === null) throw new InvalidCredentialsError('missing-field', `the ${what} payload has no "${field}" field`);
  if (typeof word !== 'string') throw new InvalidCredentialsError('wrong-type', `"${field}" must be a string`);
  return { word: word.trim(), record: value };
}

function checkWord(word: string, what: string): string {
  if (word === '') throw new InvalidCredentialsError('empty', `the ${what} is empty`);
  if (!TOKEN_WORD.test(word)) {
    throw new InvalidCredentialsError('wrong-type', `the ${what} must be one word of printable ASCII (no spaces or line breaks inside)`);
  }
  if (word.length < MIN_TOKEN_LENGTH || word.length > MAX_TOKEN_LENGTH) {
    throw new InvalidCredentialsError('wrong-type', `the ${what} is ${word.length} characters long; that is not a key or token`);
  }
  return word;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function tryText(payload: string | Uint8Array): string | undefined {
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    return undefined;
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function tryBase64(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) return undefined;
  try {
    const decoded = utf8.decode(Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    return decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
  } catch {
    return undefined;
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------
// The api-key helper: its cache policy and its command line.

export interface ApiKeyCacheState {
  /** When the cached key was read from the store. */
  readonly fetchedAt: number;
  /** When a helper last printed it, if ever. */
  readonly lastServedAt: number | undefined;
}

export type ServeDecision =
  | { readonly action: 'serve' }
  | { readonly action: 'refetch'; readonly reason: 'missing' | 'stale' | 'recalled' };

/**
 * Serve the cached key, or read the store first: when there is no cache, when it is older than the TTL
 * (or dated in the future: a clock jump), or when the helper is called again within the recall window
 * of serving this very key (the CLI re-runs its helper after a 401, so the key was probably rotated).
 * A key fetched after its last serve is served even on a quick re-call, so a revoked key that the store
 * still holds costs one store read per window, not one per call.
 */
export function decideApiKeyServe(cache: ApiKeyCacheState | undefined, now: number, ttlMs: number, recallWindowMs: number): ServeDecision {
  if (cache === undefined) return { action: 'refetch', reason: 'missing' };
  const age = now - cache.fetchedAt;
  if (age >= ttlMs || age < -60_000) return { action: 'refetch', reason: 'stale' };
  const served = cache.lastServedAt;
  if (served !== undefined && served > cache.fetchedAt && now >= served && now - served < recallWindowMs) {
    return { action: 'refetch', reason: 'recalled' };
  }
  return { action: 'serve' };
}

/**
 * The recall window to use when the Claude CLI's own helper TTL is known (the helper runs in its
 * environment): below half that TTL, so ordinary periodic calls are never taken for a 401 re-call.
 */
export function recallWindowFor(cliTtlMs: number | undefined, requestedMs: number): number {
  if (cliTtlMs === undefined || !Number.isFinite(cliTtlMs) || cliTtlMs <= 0) return requestedMs;
  return Math.min(requestedMs, Math.floor(cliTtlMs / 2));
}

/** POSIX shell quoting: safe words stay bare, anything else is single-quoted. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The store settings the helper needs to re-read the key: names and locations only, never a value. */
export type HelperStoreFlags = Omit<ProviderOptions, 'provider'> & { readonly provider: string };

const HELPER_FLAG_NAMES: ReadonlyArray<readonly [keyof HelperStoreFlags, string]> = [
  ['provider', '--provider'],
  ['secret', '--secret'],
  ['region', '--region'],
  ['endpoint', '--endpoint'],
  ['project', '--project'],
  ['vaultUrl', '--vault-url'],
  ['caFile', '--ca-file'],
];

/**
 * The `apiKeyHelper` command line: `invocation` runs claude-creds (node, its flags, the entry script),
 * followed by `api-key` with the store flags fetch used and the cache path. The Claude CLI runs it
 * through a shell, so every word is quoted.
 */
export function buildHelperCommand(invocation: readonly string[], store: HelperStoreFlags, cachePath: string): string {
  const words = [...invocation, 'api-key', '--kind', 'api-key'];
  for (const [key, flag] of HELPER_FLAG_NAMES) {
    const value = store[key];
    if (value !== undefined && value !== '') words.push(flag, value);
  }
  words.push('--cache', cachePath);
  return words.map(shellQuote).join(' ');
}

// ---------------------------------------------------------------------------------------------------
// The oauth-token's status record.

export interface OAuthTokenInfo {
  readonly kind: 'oauth-token';
  readonly expiresAt: number | null;
  /** When claude-creds last read the token from the store. */
  readonly fetchedAt: number;
}

export function formatOAuthTokenInfo(secret: OAuthTokenSecret, now: number): string {
  const info: OAuthTokenInfo = { kind: 'oauth-token', expiresAt: secret.expiresAt ?? null, fetchedAt: now };
  return `${JSON.stringify(info, null, 2)}\n`;
}

/** The status record, or undefined when it is not one (it holds no secret, so nothing is lost). */
export function parseOAuthTokenInfo(text: string): OAuthTokenInfo | undefined {
  const value = tryJson(text);
  if (!isRecord(value) || value.kind !== 'oauth-token' || typeof value.fetchedAt !== 'number') return undefined;
  const expiresAt = typeof value.expiresAt === 'number' && Number.isFinite(value.expiresAt) && value.expiresAt > 0 && value.expiresAt <= MAX_DATE_MS ? value.expiresAt : null;
  return { kind: 'oauth-token', expiresAt, fetchedAt: value.fetchedAt };
}

export interface ApiKeyCacheRecord {
  readonly apiKey: string;
  readonly fetchedAt: number;
}

export function formatApiKeyCache(apiKey: string, now: number): string {
  return `${JSON.stringify({ apiKey, fetchedAt: now })}\n`;
}

export function parseApiKeyCache(text: string): ApiKeyCacheRecord | undefined {
  const value = tryJson(text);
  if (!isRecord(value) || typeof value.apiKey !== 'string' || typeof value.fetchedAt !== 'number' || !Number.isFinite(value.fetchedAt)) return undefined;
  if (!TOKEN_WORD.test(value.apiKey)) return undefined;
  return { apiKey: value.apiKey, fetchedAt: value.fetchedAt };
}
