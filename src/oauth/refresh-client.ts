/**
 * The Claude OAuth refresh call, as the Claude CLI makes it: one POST of a refresh token to the token
 * endpoint, answered by a new access token and (usually) a new, rotated refresh token.
 *
 * Refresh tokens are single-use with no grace period, so this module never retries on its own: a retry
 * after an answer that was lost in transit would present a token the server already rotated. The caller
 * decides (with the shared policy in retry.ts) and must treat `InvalidGrantError` as final.
 *
 * Token values never reach an error message; the server's own words are reduced to its `error` code and a
 * short, scrubbed `error_description`.
 */
import { formatDuration } from '../core/duration.js';
import { INFERENCE_SCOPE, parseCredentials } from '../core/credentials.js';
import {
  InvalidCredentialsError,
  InvalidGrantError,
  OAuthResponseError,
  OAuthUnavailableError,
  describeCause,
} from '../core/errors.js';

export interface OAuthSettings {
  readonly tokenUrl: string;
  /** The client id when the login does not name its own (`claudeAiOauth.clientId`). */
  readonly clientId: string;
  /** Space-separated, as sent in the refresh request; scopes of the login's own that the CLI keeps are added. */
  readonly scope: string;
  /** Says what we are: `claude-creds/<version>` (the CLI sends axios' default), so the service can tell us apart. */
  readonly userAgent?: string;
}

/** What the Claude CLI itself sends (2.1.332, observed offline: docs/claude-cli-behaviour.md). */
export const DEFAULT_OAUTH_SETTINGS: OAuthSettings = {
  tokenUrl: 'https://platform.claude.com/v1/oauth/token',
  clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  scope: 'user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload user:plugins',
};

/** Scopes outside the CLI's fixed string that it re-requests when the login already had them. */
const KEPT_SCOPE = /^user:(projects:(read|write)|privacy_consents:write|design:(read|write))$/;

/** The client id and scope the CLI would send for this login: its own `clientId` wins; its kept scopes ride along. */
export function requestScopeFor(login: { readonly clientId?: unknown; readonly scopes?: readonly string[] | undefined }, settings: OAuthSettings): { clientId: string; scope: string } {
  const stored = typeof login.clientId === 'string' && login.clientId !== '' ? login.clientId : undefined;
  if (stored !== undefined && login.scopes !== undefined) return { clientId: stored, scope: login.scopes.join(' ') };
  const base = settings.scope.split(/\s+/).filter((s) => s !== '');
  const extra = (login.scopes ?? []).filter((scope) => KEPT_SCOPE.test(scope) && !base.includes(scope));
  return { clientId: stored ?? settings.clientId, scope: [...base, ...extra].join(' ') };
}

export interface RefreshedTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly scopes: readonly string[];
  /** From `refresh_token_expires_in`: when the login ends, by the server's count. */
  readonly refreshTokenExpiresAt?: number;
}

export interface RefreshOptions {
  readonly now: () => number;
  /** The login's own `clientId`, when it names one. */
  readonly clientId?: string;
  /** The scope string to request (default: the settings'). */
  readonly scope?: string;
  readonly signal?: AbortSignal;
  /** Bound on the whole call, body included; default DEFAULT_REFRESH_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

/** Without a caller's bound a hung endpoint must still not hang a container's start. */
export const DEFAULT_REFRESH_TIMEOUT_MS = 30_000;

/** A real answer is a few hundred bytes; anything far larger is not a token response. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_DESCRIPTION_CHARS = 160;

/** One refresh call. `refreshToken` is the current one; returns the new tokens. */
export async function refreshOAuthTokens(
  refreshToken: string,
  settings: OAuthSettings,
  options: RefreshOptions,
): Promise<RefreshedTokens> {
  const endpoint = describeEndpoint(settings.tokenUrl);
  const timeoutMs = Math.max(1, Math.floor(options.timeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS));
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);

  let status: number;
  let bodyText: string;
  let retryAfter: number | undefined;
  try {
    const response = await fetch(settings.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(settings.userAgent === undefined ? {} : { 'user-agent': settings.userAgent }),
      },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: options.clientId ?? settings.clientId,
        scope: options.scope ?? settings.scope,
      }),
      // Following a redirect would re-send the refresh token to wherever it points.
      redirect: 'manual',
      signal,
    });
    status = response.status;
    retryAfter = parseRetryAfter(response.headers.get('retry-after'), options.now());
    bodyText = await readCapped(response, endpoint);
  } catch (error) {
    if (error instanceof OAuthResponseError) throw error;
    if (timeout.aborted) {
      throw new OAuthUnavailableError(`OAuth token endpoint ${endpoint} did not answer within ${formatDuration(timeoutMs)}`, { cause: error });
    }
    if (options.signal?.aborted) {
      throw new OAuthUnavailableError(`OAuth refresh at ${endpoint} was aborted before it finished (deadline reached)`, {
        cause: error,
      });
    }
    throw new OAuthUnavailableError(`cannot reach OAuth token endpoint ${endpoint}: ${networkReason(error)}`, { cause: error });
  }

  if (status >= 200 && status < 300) return readTokens(bodyText, refreshToken, settings, options.now(), endpoint);
  if (status === 408 || status === 429 || status >= 500) {
    const what = status === 429 ? 'throttled the refresh (HTTP 429)' : `failed with HTTP ${status}`;
    throw new OAuthUnavailableError(`OAuth token endpoint ${endpoint} ${what}; try again later`, { retryAfterMs: retryAfter });
  }
  if (status >= 400) throw clientError(status, bodyText, endpoint);
  throw new OAuthResponseError(
    `OAuth token endpoint ${endpoint} answered HTTP ${status} instead of a token response; check the token URL`,
  );
}

function readTokens(
  bodyText: string,
  presented: string,
  settings: OAuthSettings,
  now: number,
  endpoint: string,
): RefreshedTokens {
  const body = parseJsonObject(bodyText);
  const bad = (what: string): OAuthResponseError =>
    new OAuthResponseError(`OAuth token endpoint ${endpoint} answered 200 but ${what}; the credentials were not changed`);
  if (body === undefined) throw bad('the body is not a JSON object');

  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken.trim() === '') throw bad('without a usable "access_token"');
  const expiresIn = body.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw bad('without a positive "expires_in"');
  }
  const newRefresh = body.refresh_token;
  if (newRefresh !== undefined && newRefresh !== null && (typeof newRefresh !== 'string' || newRefresh.trim() === '')) {
    throw bad('with an unusable "refresh_token"');
  }
  const scope = body.scope;
  if (scope !== undefined && scope !== null && typeof scope !== 'string') throw bad('with a "scope" that is not a string');
  const scopes = splitScope(typeof scope === 'string' ? scope : settings.scope);
  // The Claude CLI throws such a response away: tokens without inference would log the worker out.
  if (!scopes.includes(INFERENCE_SCOPE)) throw bad(`with a scope that lacks "${INFERENCE_SCOPE}"`);

  const loginLeft = body.refresh_token_expires_in;
  const loginEnd = typeof loginLeft === 'number' && Number.isFinite(loginLeft) && loginLeft > 0 ? now + Math.round(loginLeft * 1000) : undefined;
  return {
    accessToken,
    // No refresh_token in the answer means the server did not rotate: the presented one stays valid.
    refreshToken: typeof newRefresh === 'string' ? newRefresh : presented,
    expiresAt: now + Math.round(expiresIn * 1000),
    scopes,
    ...(loginEnd === undefined ? {} : { refreshTokenExpiresAt: loginEnd }),
  };
}

/** `Retry-After` as seconds or an HTTP date; capped at 5 minutes (a lease is shorter than that anyway). */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 300_000) : undefined;
}

function clientError(status: number, bodyText: string, endpoint: string): Error {
  const body = parseJsonObject(bodyText);
  const code = body === undefined ? undefined : sanitizeCode(body.error);
  const description = body === undefined ? undefined : sanitizeDescription(body.error_description);
  const detail = description === undefined ? '' : ` (${description})`;
  if (code === 'invalid_grant') {
    return new InvalidGrantError(
      `OAuth token endpoint ${endpoint} refused the refresh token (invalid_grant${detail}): it is dead — another copy already ` +
        'rotated it or the login was revoked; run `claude login` again and `push` the new credentials',
    );
  }
  if (code === undefined) {
    return new OAuthResponseError(
      `OAuth token endpoint ${endpoint} refused the refresh with HTTP ${status} and no OAuth error code; check the token URL`,
    );
  }
  const hint =
    code === 'invalid_client' || code === 'unauthorized_client'
      ? 'check the OAuth client id'
      : 'check the OAuth token URL, client id and scope';
  return new OAuthResponseError(
    `OAuth token endpoint ${endpoint} refused the refresh with HTTP ${status} ${code}${detail}; ${hint}`,
    code,
  );
}

async function readCapped(response: Response, endpoint: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(endpoint);
  }
  const text = await response.text();
  if (Buffer.byteLength(text, 'utf8') > MAX_RESPONSE_BYTES) throw tooLarge(endpoint);
  return text;
}

function tooLarge(endpoint: string): OAuthResponseError {
  return new OAuthResponseError(
    `OAuth token endpoint ${endpoint} sent more than ${MAX_RESPONSE_BYTES} bytes; that is not a token response, check the token URL`,
  );
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function splitScope(scope: string): string[] {
  return scope.split(/\s+/).filter((s) => s !== '');
}

/** RFC 6749 error codes are lowercase words joined by underscores; anything else is not repeated. */
function sanitizeCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[a-z_]{1,64}$/.test(value) ? value : undefined;
}

/**
 * Any run of 16 or more token characters is dropped: every 20-character window of a token lies inside such
 * a run, so a server that quotes the token back cannot get it into our message.
 */
const TOKEN_LIKE_SOURCE = '[A-Za-z0-9_\\-+/=.~]{16,}';

function sanitizeDescription(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cleaned = value
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(new RegExp(TOKEN_LIKE_SOURCE, 'g'), '[redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  if (cleaned === '') return undefined;
  return cleaned.length > MAX_DESCRIPTION_CHARS ? `${cleaned.slice(0, MAX_DESCRIPTION_CHARS - 3)}...` : cleaned;
}

/** Scheme, host and path only: a URL could carry a query or userinfo nobody should see in a log. */
function describeEndpoint(tokenUrl: string): string {
  try {
    const url = new URL(tokenUrl);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(invalid token URL)';
  }
}

/** undici says "fetch failed" and keeps the reason (ECONNRESET, ECONNREFUSED...) in `cause`. */
function networkReason(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const text = describeCause(cause).replace(new RegExp(TOKEN_LIKE_SOURCE, 'g'), '[redacted]');
  return text.length > MAX_DESCRIPTION_CHARS ? `${text.slice(0, MAX_DESCRIPTION_CHARS - 3)}...` : text;
}

/**
 * Pure: a new credentials JSON text = `documentText` with claudeAiOauth's accessToken/refreshToken/expiresAt/scopes
 * replaced by `tokens`, every other key (top-level and inside claudeAiOauth) kept in place. The layout
 * (compact or indented, trailing newline) follows the input. Throws InvalidCredentialsError when the input
 * is not a credentials document or the result would not be one.
 */
export function applyRefreshedTokens(documentText: string, tokens: RefreshedTokens): string {
  const text = documentText.charCodeAt(0) === 0xfeff ? documentText.slice(1) : documentText;
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new InvalidCredentialsError('invalid-json', 'cannot apply refreshed tokens: the credentials document is not valid JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new InvalidCredentialsError('not-an-object', 'cannot apply refreshed tokens: the credentials document is not a JSON object');
  }
  const record = document as Record<string, unknown>;
  const oauth = record.claudeAiOauth;
  if (typeof oauth !== 'object' || oauth === null || Array.isArray(oauth)) {
    throw new InvalidCredentialsError(
      'missing-field',
      'cannot apply refreshed tokens: the credentials document has no "claudeAiOauth" object',
    );
  }
  // Spreading keeps key order: the replaced fields stay where the Claude CLI put them.
  const previous = oauth as Record<string, unknown>;
  // The login's end never moves later with a refresh (as the CLI does: the older value wins); a login that
  // did not say when it ends learns it from the answer.
  const oldEnd = typeof previous.refreshTokenExpiresAt === 'number' && previous.refreshTokenExpiresAt > 0 ? previous.refreshTokenExpiresAt : undefined;
  const end = oldEnd === undefined ? tokens.refreshTokenExpiresAt : tokens.refreshTokenExpiresAt === undefined ? oldEnd : Math.min(oldEnd, tokens.refreshTokenExpiresAt);
  const updated = {
    ...record,
    claudeAiOauth: {
      ...previous,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: tokens.expiresAt,
      scopes: [...tokens.scopes],
      ...(end === undefined ? {} : { refreshTokenExpiresAt: end }),
    },
  };
  const indent = /^\{[ \t]*\r?\n([ \t]+)"/.exec(text)?.[1];
  const trailing = /\r?\n$/.exec(text)?.[0] ?? '';
  const result = JSON.stringify(updated, null, indent) + trailing;
  parseCredentials(result);
  return result;
}
