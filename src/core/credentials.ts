/**
 * The credentials model: parse and validate a Claude Code `.credentials.json` payload, and order two
 * of them by freshness. Pure: no fs, no process, no clock (callers pass `now`).
 *
 * The payload is kept byte for byte (`text`): what the store holds is what lands on disk, so unknown
 * keys that a newer CLI adds survive every hop.
 */
import { InvalidCredentialsError } from './errors.js';

/** A payload larger than this is refused before parsing: a real file is well under 1 KiB. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export const INFERENCE_SCOPE = 'user:inference';

/**
 * Deepest nesting accepted (a real file is 3 levels deep). Deeper documents are refused: JSON.stringify
 * and the merge's comparison recurse, and a 1 MiB payload of brackets would overflow the stack there.
 */
export const MAX_NESTING_DEPTH = 64;

/** The largest time a Date can hold; beyond it toISOString throws, so such an expiry cannot be reported. */
const MAX_DATE_MS = 8.64e15;

export interface OAuthFields {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly scopes: readonly string[] | undefined;
  readonly subscriptionType: string | undefined;
  /**
   * When the login itself ends (ms epoch): about 30 days after `claude login`, whatever the refreshes.
   * Newer CLIs store it; a refresh never moves it later. Undefined when the document does not say.
   */
  readonly refreshTokenExpiresAt: number | undefined;
}

export interface Credentials {
  /** The exact JSON text to write (BOM removed, base64 decoded). */
  readonly text: string;
  /** The whole document, unknown keys included. */
  readonly document: Readonly<Record<string, unknown>>;
  readonly oauth: OAuthFields;
  /** How the payload arrived; base64 is accepted because the seeds ship it that way. */
  readonly encoding: 'json' | 'base64';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface ParseOptions {
  /**
   * False for an access-only worker copy, which deliberately holds no refresh token (the sidecar keeps
   * it); such a copy is never pushed to the store.
   */
  readonly requireRefreshToken?: boolean;
}

/** Parse a payload that is the credentials JSON or base64 of it. Throws InvalidCredentialsError. */
export function parseCredentials(payload: string | Uint8Array, options: ParseOptions = {}): Credentials {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) {
    throw new InvalidCredentialsError(
      'too-large',
      `credentials payload is ${size} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit; this is not a .credentials.json`,
    );
  }
  const text = stripBom(typeof payload === 'string' ? payload : decodeUtf8(payload));
  if (text.trim() === '') {
    throw new InvalidCredentialsError(
      'empty',
      'credentials payload is empty (0 bytes of JSON): the interactive `claude login` was probably not completed; log in again and push the file',
    );
  }
  const requireRefreshToken = options.requireRefreshToken ?? true;
  if (text.trimStart().startsWith('{')) return fromJson(text, 'json', requireRefreshToken);
  const decoded = decodeBase64Json(text);
  if (decoded === undefined) {
    throw new InvalidCredentialsError(
      'invalid-json',
      'credentials payload is neither JSON nor base64 of JSON; store the content of ~/.claude/.credentials.json (or `base64 -w0` of it)',
    );
  }
  return fromJson(decoded, 'base64', requireRefreshToken);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new InvalidCredentialsError('invalid-json', 'credentials payload is not valid UTF-8 text');
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function decodeBase64Json(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!BASE64.test(compact)) return undefined;
  const bytes = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  let decoded: string;
  try {
    decoded = stripBom(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  return decoded.trimStart().startsWith('{') ? decoded : undefined;
}

function fromJson(text: string, encoding: Credentials['encoding'], requireRefreshToken: boolean): Credentials {
  const document = parseJsonObject(text);
  const oauth = readOAuthFields(document.claudeAiOauth, requireRefreshToken);
  return { text, document, oauth, encoding };
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the input, which may hold a token: keep only the position.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new InvalidCredentialsError(
      'invalid-json',
      `credentials payload is not valid JSON${position === undefined ? '' : ` (error at character ${position})`}`,
    );
  }
  if (!isRecord(value)) {
    throw new InvalidCredentialsError('not-an-object', 'credentials payload is JSON but not an object');
  }
  if (nestingDepth(value) > MAX_NESTING_DEPTH) {
    throw new InvalidCredentialsError(
      'too-large',
      `credentials payload is nested more than ${MAX_NESTING_DEPTH} levels deep; this is not a .credentials.json`,
    );
  }
  return value;
}

function readOAuthFields(value: unknown, requireRefreshToken: boolean): OAuthFields {
  if (value === undefined) {
    throw new InvalidCredentialsError(
      'missing-field',
      'credentials payload has no "claudeAiOauth" object; is this ~/.claude/.credentials.json from a subscription login?',
    );
  }
  if (!isRecord(value)) {
    throw new InvalidCredentialsError('wrong-type', '"claudeAiOauth" must be an object');
  }
  const accessToken = requireField(value, 'accessToken', 'string');
  const refreshToken =
    !requireRefreshToken && (value.refreshToken === undefined || value.refreshToken === '') ? '' : requireField(value, 'refreshToken', 'string');
  const expiresAt = requireField(value, 'expiresAt', 'number');
  if (accessToken === '' && refreshToken === '') {
    throw new InvalidCredentialsError(
      'blanked',
      'credentials were blanked by the Claude CLI after a rejected refresh (invalid_grant); log in again',
    );
  }
  if (accessToken === '') throw new InvalidCredentialsError('missing-field', '"claudeAiOauth.accessToken" is empty');
  if (refreshToken === '' && requireRefreshToken) {
    throw new InvalidCredentialsError('missing-field', '"claudeAiOauth.refreshToken" is empty');
  }
  if (!Number.isFinite(expiresAt) || expiresAt <= 0 || expiresAt > MAX_DATE_MS) {
    throw new InvalidCredentialsError('wrong-type', '"claudeAiOauth.expiresAt" must be a positive time in milliseconds');
  }
  const scopes = optionalScopes(value.scopes);
  if (scopes !== undefined && !scopes.includes(INFERENCE_SCOPE)) {
    throw new InvalidCredentialsError(
      'missing-field',
      `"claudeAiOauth.scopes" lacks "${INFERENCE_SCOPE}": the Claude CLI treats such a login as logged out`,
    );
  }
  const subscriptionType = value.subscriptionType;
  if (subscriptionType !== undefined && subscriptionType !== null && typeof subscriptionType !== 'string') {
    throw new InvalidCredentialsError('wrong-type', '"claudeAiOauth.subscriptionType" must be a string');
  }
  const loginEnd = value.refreshTokenExpiresAt;
  if (loginEnd !== undefined && loginEnd !== null && (typeof loginEnd !== 'number' || !Number.isFinite(loginEnd) || loginEnd <= 0 || loginEnd > MAX_DATE_MS)) {
    throw new InvalidCredentialsError('wrong-type', '"claudeAiOauth.refreshTokenExpiresAt" must be a positive time in milliseconds');
  }
  return {
    accessToken,
    refreshToken,
    expiresAt,
    scopes,
    subscriptionType: typeof subscriptionType === 'string' ? subscriptionType : undefined,
    refreshTokenExpiresAt: typeof loginEnd === 'number' ? loginEnd : undefined,
  };
}

function requireField<T extends 'string' | 'number'>(
  record: Record<string, unknown>,
  key: string,
  type: T,
): T extends 'string' ? string : number {
  const value = record[key];
  if (value === undefined || value === null) {
    throw new InvalidCredentialsError('missing-field', `"claudeAiOauth.${key}" is missing`);
  }
  if (typeof value !== type) {
    throw new InvalidCredentialsError('wrong-type', `"claudeAiOauth.${key}" must be a ${type}, not ${describeType(value)}`);
  }
  return value as T extends 'string' ? string : number;
}

function optionalScopes(value: unknown): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((scope): scope is string => typeof scope === 'string')) {
    throw new InvalidCredentialsError('wrong-type', '"claudeAiOauth.scopes" must be an array of strings');
  }
  return value;
}

/** Iterative, so measuring a hostile document cannot itself overflow the stack; stops once over the limit. */
function nestingDepth(root: unknown): number {
  let deepest = 0;
  const pending: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 1 }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value, depth } = item;
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_NESTING_DEPTH) return deepest;
    for (const child of Object.values(value)) pending.push({ value: child, depth: depth + 1 });
  }
  return deepest;
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Freshness order used by sync: the credentials whose access token expires later are newer.
 * Negative when `a` is older than `b`, zero when equally fresh.
 */
export function compareFreshness(a: Pick<Credentials, 'oauth'>, b: Pick<Credentials, 'oauth'>): number {
  return a.oauth.expiresAt - b.oauth.expiresAt;
}

export function isNewer(candidate: Pick<Credentials, 'oauth'>, than: Pick<Credentials, 'oauth'>): boolean {
  return compareFreshness(candidate, than) > 0;
}

export type ExpiryState = 'valid' | 'expiring' | 'expired';

export interface ExpiryAssessment {
  readonly state: ExpiryState;
  readonly expiresAt: number;
  /** Negative once expired. */
  readonly msLeft: number;
}

export function assessExpiry(oauth: OAuthFields, now: number, warnBeforeMs: number): ExpiryAssessment {
  const msLeft = oauth.expiresAt - now;
  const state: ExpiryState = msLeft <= 0 ? 'expired' : msLeft <= warnBeforeMs ? 'expiring' : 'valid';
  return { state, expiresAt: oauth.expiresAt, msLeft };
}

/** The token values of a credentials document, for redaction and leak checks. */
export function secretValues(credentials: Pick<Credentials, 'oauth'>): string[] {
  return [credentials.oauth.accessToken, credentials.oauth.refreshToken];
}
