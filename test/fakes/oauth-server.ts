/**
 * A wire-level fake of the Claude OAuth token endpoint on 127.0.0.1: `POST /v1/oauth/token` with a JSON
 * refresh-token grant, answered the way the real one behaves (observed with the Claude CLI):
 *
 * - every login is a chain of refresh tokens; only the newest is valid, and presenting it rotates it
 *   (new access + refresh token, the old refresh token dead at once, no grace period);
 * - a dead or unknown refresh token gets 400 `invalid_grant` in the RFC 6749 error shape;
 * - the work is done even when the client has already given up (a timed-out refresh may have rotated).
 *
 * Every token is made by `fakeToken`, so the leak checks know them all.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_OAUTH_SETTINGS, type OAuthSettings } from '../../src/oauth/refresh-client.js';
import { fakeToken, makeFakeCredentials } from '../support/fake-credentials.js';
import { FaultInjector, sleep, type FaultKind } from './faults.js';

export const OAUTH_TOKEN_PATH = '/v1/oauth/token';

/** The fault-injector operation name of a refresh call. */
export const REFRESH_OPERATION = 'refresh';

export interface FakeOAuthOptions {
  /** `expires_in` of every issued access token; default 8 h, like the real service. */
  expiresInSeconds: number;
  /** Answer without `refresh_token` (no rotation: the presented token stays valid). */
  omitRefreshToken: boolean;
  /** The `scope` string in every answer. */
  scope: string;
  /** Refuse any client id but the Claude CLI's with 401 invalid_client. */
  checkClientId: boolean;
  /** Refuse (403 unauthorized_client) requests whose User-Agent matches: a service that turns a client away. */
  refuseUserAgent: RegExp | undefined;
  /** Quote the presented refresh token in `error_description`, as a careless server might: proves the client scrubs it. */
  echoTokenInErrors: boolean;
  /**
   * Rewrites a successful answer after the rotation happened (a string is sent as the raw body): how tests
   * get a 200 the client must refuse. The presented token is burnt all the same, as on a real server.
   */
  transformResponse: ((body: Record<string, unknown>) => Record<string, unknown> | string) | undefined;
  /** When set, every accepted refresh answers `refresh_token_expires_in` (the real service sends it). */
  refreshTokenExpiresInSeconds: number | undefined;
  /** `error_description` of an invalid_grant; the real service says "Refresh token expired" at a login's end. */
  invalidGrantDescription: string;
}

export interface FakeOAuthRequest {
  /** The refresh token presented ('' when the body had none). */
  readonly refreshToken: string;
  readonly accepted: boolean;
  /** Date.now() when the request was decided. */
  readonly at: number;
  /** Why it was refused: 'dead', 'unknown', 'invalid_client', 'invalid_request', or 'fault:<kind>'. */
  readonly reason?: string;
  /** What the client sent, to check the refresh client's wire behaviour (absent when not a string). */
  readonly clientId?: string;
  readonly scope?: string;
  readonly userAgent?: string;
}

export interface IssuedLogin {
  readonly json: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt: number;
}

export interface FakeOAuthServer {
  /** http://127.0.0.1:PORT/v1/oauth/token */
  readonly url: string;
  /** Pointing at `url`, with the real client id and scope. */
  readonly settings: OAuthSettings;
  /** Consulted with `next('refresh')` on every call. */
  readonly faults: FaultInjector;
  /** Makes a fresh login: a credentials JSON document whose refresh token the server accepts (once). */
  issueLogin(options?: {
    expiresInMs?: number;
    subscriptionType?: string;
    /** Extra `claudeAiOauth` fields (e.g. refreshTokenExpiresAt) and top-level keys (e.g. mcpOAuth). */
    extraOAuth?: Record<string, unknown>;
    extraTopLevel?: Record<string, unknown>;
  }): IssuedLogin;
  /** Every refresh request that carried a parsable body, in order. */
  readonly requests: FakeOAuthRequest[];
  /** Count of accepted refreshes. */
  refreshCount(): number;
  /** Count of refreshes refused because the refresh token had already been rotated (reuse). */
  reusedCount(): number;
  /** Whether `refreshToken` was issued here and already rotated away (presenting it now is `invalid_grant`). */
  isRotated(refreshToken: string): boolean;
  /** Options that can be changed between calls. */
  options: FakeOAuthOptions;
  close(): Promise<void>;
}

const DEFAULT_OPTIONS: FakeOAuthOptions = {
  expiresInSeconds: 8 * 3600,
  omitRefreshToken: false,
  scope: DEFAULT_OAUTH_SETTINGS.scope,
  checkClientId: true,
  refuseUserAgent: undefined,
  echoTokenInErrors: false,
  transformResponse: undefined,
  refreshTokenExpiresInSeconds: undefined,
  invalidGrantDescription: 'Invalid refresh token',
};

interface TokenState {
  readonly chain: number;
  /** Only the newest refresh token of a chain is live. */
  live: boolean;
}

export async function startFakeOAuthServer(initial: Partial<FakeOAuthOptions> = {}): Promise<FakeOAuthServer> {
  const options: FakeOAuthOptions = { ...DEFAULT_OPTIONS, ...initial };
  const faults = new FaultInjector();
  const requests: FakeOAuthRequest[] = [];
  const refreshTokens = new Map<string, TokenState>();
  let chains = 0;

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, { error: 'server_error', error_description: 'fake failed' });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const bodyText = await readBody(request);
    if (request.method !== 'POST' || new URL(request.url ?? '/', 'http://x').pathname !== OAUTH_TOKEN_PATH) {
      return send(response, 404, { error: 'not_found', error_description: 'Not Found' });
    }
    const body = parseObject(bodyText);
    const presented = typeof body?.refresh_token === 'string' ? body.refresh_token : '';
    const sent = {
      ...(typeof body?.client_id === 'string' ? { clientId: body.client_id } : {}),
      ...(typeof body?.scope === 'string' ? { scope: body.scope } : {}),
      ...(typeof request.headers['user-agent'] === 'string' ? { userAgent: request.headers['user-agent'] } : {}),
    };
    const record = (accepted: boolean, reason?: string): void => {
      requests.push({ refreshToken: presented, accepted, at: Date.now(), ...(reason === undefined ? {} : { reason }), ...sent });
    };

    const decision = faults.next(REFRESH_OPERATION);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.fault) {
      record(false, `fault:${decision.fault.kind}`);
      if (decision.fault.kind === 'reset') {
        request.socket.destroy();
        return;
      }
      return sendFault(response, decision.fault.kind);
    }

    const invalidRequest = (description: string): void => {
      record(false, 'invalid_request');
      send(response, 400, { error: 'invalid_request', error_description: description });
    };
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return invalidRequest('Content-Type must be application/json');
    }
    if (body === undefined) return invalidRequest('Request body must be a JSON object');
    if (body.grant_type !== 'refresh_token') return invalidRequest('Unsupported or missing grant_type');
    if (presented === '') return invalidRequest('Missing refresh_token');
    if (typeof body.client_id !== 'string' || body.client_id === '') return invalidRequest('Missing client_id');
    if (options.checkClientId && body.client_id !== DEFAULT_OAUTH_SETTINGS.clientId) {
      record(false, 'invalid_client');
      return send(response, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }

    if (options.refuseUserAgent !== undefined && options.refuseUserAgent.test(String(request.headers['user-agent'] ?? ''))) {
      record(false, 'refused_client');
      return send(response, 403, { error: 'unauthorized_client', error_description: 'This client may not refresh tokens' });
    }

    const state = refreshTokens.get(presented);
    if (state === undefined || !state.live) {
      record(false, state === undefined ? 'unknown' : 'dead');
      const description = options.echoTokenInErrors
        ? `Refresh token ${presented} is invalid, expired or revoked`
        : options.invalidGrantDescription;
      return send(response, 400, { error: 'invalid_grant', error_description: description });
    }

    const accessToken = fakeToken('oat');
    let refreshToken: string | undefined;
    if (!options.omitRefreshToken) {
      refreshToken = fakeToken('ort');
      state.live = false;
      refreshTokens.set(refreshToken, { chain: state.chain, live: true });
    }
    record(true);
    const answer: Record<string, unknown> = {
      token_type: 'Bearer',
      access_token: accessToken,
      expires_in: options.expiresInSeconds,
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
      ...(options.refreshTokenExpiresInSeconds === undefined ? {} : { refresh_token_expires_in: options.refreshTokenExpiresInSeconds }),
      scope: options.scope,
    };
    send(response, 200, options.transformResponse?.(answer) ?? answer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}${OAUTH_TOKEN_PATH}`;

  return {
    url,
    settings: { ...DEFAULT_OAUTH_SETTINGS, tokenUrl: url },
    faults,
    requests,
    options,
    issueLogin(login = {}) {
      const expiresAt = Date.now() + (login.expiresInMs ?? options.expiresInSeconds * 1000);
      const credentials = makeFakeCredentials({
        expiresAt,
        scopes: options.scope.split(' ').filter((s) => s !== ''),
        ...(login.subscriptionType === undefined ? {} : { subscriptionType: login.subscriptionType }),
        ...(login.extraOAuth === undefined ? {} : { extraOAuth: login.extraOAuth }),
        ...(login.extraTopLevel === undefined ? {} : { extraTopLevel: login.extraTopLevel }),
      });
      chains += 1;
      refreshTokens.set(credentials.refreshToken, { chain: chains, live: true });
      return {
        json: credentials.json,
        accessToken: credentials.accessToken,
        refreshToken: credentials.refreshToken,
        expiresAt,
      };
    },
    refreshCount: () => requests.filter((r) => r.accepted).length,
    reusedCount: () => requests.filter((r) => r.reason === 'dead').length,
    isRotated: (refreshToken) => refreshTokens.get(refreshToken)?.live === false,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendFault(response: ServerResponse, kind: Exclude<FaultKind, 'reset'>): void {
  switch (kind) {
    case 'throttle':
      return send(response, 429, { error: 'rate_limit_error', error_description: 'Rate limited' }, { 'retry-after': '1' });
    case 'unavailable':
      return send(response, 503, { error: 'temporarily_unavailable', error_description: 'Service unavailable' });
    case 'internal':
      return send(response, 500, { error: 'server_error', error_description: 'Internal server error' });
    case 'denied':
      return send(response, 403, { error: 'access_denied', error_description: 'Forbidden' });
    case 'not-found':
      return send(response, 404, { error: 'not_found', error_description: 'Not Found' });
  }
}

function send(
  response: ServerResponse,
  status: number,
  body: Readonly<Record<string, unknown>> | string,
  headers: Record<string, string> = {},
): void {
  // The client may have given up during injected latency; the work is done but nobody hears the answer.
  if (response.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
