import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../src/core/credentials.js';
import {
  EXIT,
  InvalidCredentialsError,
  InvalidGrantError,
  OAuthResponseError,
  OAuthUnavailableError,
} from '../../src/core/errors.js';
import {
  DEFAULT_OAUTH_SETTINGS,
  applyRefreshedTokens,
  refreshOAuthTokens,
  requestScopeFor,
  type RefreshedTokens,
} from '../../src/oauth/refresh-client.js';
import { withRetry, type RetryPolicy } from '../../src/core/retry.js';
import type { FaultKind } from '../fakes/faults.js';
import { startFakeOAuthServer, type FakeOAuthServer } from '../fakes/oauth-server.js';
import { fakeToken, makeFakeCredentials } from '../support/fake-credentials.js';
import { assertNoLeaks } from '../support/leak-check.js';

const NOW = 1_800_000_000_000;
const now = (): number => NOW;

let fake: FakeOAuthServer;
let initialOptions: FakeOAuthServer['options'];

beforeAll(async () => {
  fake = await startFakeOAuthServer();
  initialOptions = { ...fake.options };
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.faults.reset();
  Object.assign(fake.options, initialOptions);
});

/** The rejection of `promise`, which must reject; its message is checked for every fake token ever issued. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  assertNoLeaks('error message', (error as Error).message);
  return error as Error;
}

const refresh = (refreshToken: string, timeoutMs = 5_000): Promise<RefreshedTokens> =>
  refreshOAuthTokens(refreshToken, fake.settings, { now, timeoutMs });

describe('refreshOAuthTokens', () => {
  test('a refresh returns new tokens and rotates: the old refresh token is dead afterwards', async () => {
    const login = fake.issueLogin();

    const tokens = await refresh(login.refreshToken);

    expect(tokens.accessToken).not.toBe(login.accessToken);
    expect(tokens.refreshToken).not.toBe(login.refreshToken);
    expect(tokens.accessToken).toMatch(/^sk-ant-oat01-FAKE-TEST-/);
    expect(tokens.refreshToken).toMatch(/^sk-ant-ort01-FAKE-TEST-/);
    expect(tokens.expiresAt).toBe(NOW + fake.options.expiresInSeconds * 1000);
    expect(tokens.scopes).toEqual(DEFAULT_OAUTH_SETTINGS.scope.split(' '));

    const error = await failure(refresh(login.refreshToken));
    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(error).toMatchObject({ exitCode: EXIT.permission, retryable: false });
    expect(error.message).toContain('invalid_grant');
    expect(error.message).toMatch(/claude login.*push/);
  });

  test('the rotated refresh token works for the next refresh, and so on down the chain', async () => {
    const login = fake.issueLogin();
    const first = await refresh(login.refreshToken);
    const second = await refresh(first.refreshToken);
    const third = await refresh(second.refreshToken);

    expect(new Set([login.refreshToken, first.refreshToken, second.refreshToken, third.refreshToken]).size).toBe(4);
    await expect(refresh(first.refreshToken)).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(refresh(second.refreshToken)).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(refresh(third.refreshToken)).resolves.toMatchObject({ expiresAt: expect.any(Number) });
  });

  test.each([
    { case: 'a refresh token another copy already rotated', reason: 'dead', token: () => rotatedAway() },
    { case: 'a refresh token the server never issued', reason: 'unknown', token: async () => fakeToken('ort') },
  ])('$case is refused with invalid_grant and recorded by the fake', async ({ reason, token }) => {
    const presented = await token();
    const before = fake.refreshCount();

    const error = await failure(refresh(presented));

    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(fake.refreshCount()).toBe(before);
    expect(fake.requests.at(-1)).toMatchObject({ refreshToken: presented, accepted: false, reason });
  });

  test('two copies of one login: the second copy to refresh gets invalid_grant', async () => {
    const login = fake.issueLogin();
    const copyA = login.refreshToken;
    const copyB = login.refreshToken;

    await refresh(copyA);
    const error = await failure(refresh(copyB));

    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(fake.requests.slice(-2).map((r) => r.accepted)).toEqual([true, false]);
  });

  test('an answer without refresh_token keeps the presented one, which stays valid', async () => {
    fake.options.omitRefreshToken = true;
    const login = fake.issueLogin();

    const first = await refresh(login.refreshToken);
    const second = await refresh(login.refreshToken);

    expect(first.refreshToken).toBe(login.refreshToken);
    expect(second.refreshToken).toBe(login.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
  });

  test('an answer without scope takes the requested scope', async () => {
    fake.options.transformResponse = ({ scope: _scope, ...rest }) => rest;
    const login = fake.issueLogin();

    const tokens = await refresh(login.refreshToken);

    expect(tokens.scopes).toEqual(DEFAULT_OAUTH_SETTINGS.scope.split(' '));
  });

  test.each<{ case: string; transform: (body: Record<string, unknown>) => Record<string, unknown> | string; names: RegExp }>([
    { case: 'a scope without user:inference', transform: (b) => ({ ...b, scope: 'user:profile user:mcp_servers' }), names: /user:inference/ },
    { case: 'no access_token', transform: ({ access_token: _a, ...b }) => b, names: /access_token/ },
    { case: 'an empty access_token', transform: (b) => ({ ...b, access_token: '' }), names: /access_token/ },
    { case: 'expires_in as a string', transform: (b) => ({ ...b, expires_in: '28800' }), names: /expires_in/ },
    { case: 'expires_in of 0', transform: (b) => ({ ...b, expires_in: 0 }), names: /expires_in/ },
    { case: 'a refresh_token that is not a string', transform: (b) => ({ ...b, refresh_token: 42 }), names: /refresh_token/ },
    { case: 'a body that is not JSON', transform: (b) => `<html>${String(b.access_token)}</html>`, names: /not a JSON object/ },
  ])('a 200 with $case is an OAuthResponseError naming the problem', async ({ transform, names }) => {
    fake.options.transformResponse = transform;
    const login = fake.issueLogin();

    const error = await failure(refresh(login.refreshToken));

    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error).toMatchObject({ exitCode: EXIT.dataError, retryable: false });
    expect(error.message).toMatch(names);
  });

  test.each<{ kind: FaultKind; status: RegExp }>([
    { kind: 'throttle', status: /429/ },
    { kind: 'unavailable', status: /503/ },
    { kind: 'internal', status: /500/ },
    { kind: 'reset', status: /cannot reach/ },
  ])('a $kind fault is a retryable OAuthUnavailableError and does not consume the refresh token', async ({ kind, status }) => {
    const login = fake.issueLogin();
    fake.faults.failNext(1, kind, 'refresh');

    const error = await failure(refresh(login.refreshToken));

    expect(error).toBeInstanceOf(OAuthUnavailableError);
    expect(error).toMatchObject({ exitCode: EXIT.unavailable, retryable: true });
    expect(error.message).toMatch(status);
    await expect(refresh(login.refreshToken)).resolves.toMatchObject({ scopes: expect.arrayContaining(['user:inference']) });
  });

  test('a connection refused is a retryable OAuthUnavailableError', async () => {
    const closed = await startFakeOAuthServer();
    await closed.close();

    const error = await failure(refreshOAuthTokens(fakeToken('ort'), closed.settings, { now, timeoutMs: 2_000 }));

    expect(error).toBeInstanceOf(OAuthUnavailableError);
    expect(error.message).toMatch(/cannot reach OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/v1\/oauth\/token: .*ECONNREFUSED/);
  });

  test('withRetry with a short policy recovers from two 503s and refreshes exactly once', async () => {
    const login = fake.issueLogin();
    fake.faults.failNext(2, 'unavailable', 'refresh');
    const policy: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 10, maxDelayMs: 50, multiplier: 2 };
    const before = fake.refreshCount();

    const tokens = await withRetry(
      'refreshing the OAuth token',
      (attempt) => refreshOAuthTokens(login.refreshToken, fake.settings, { now, signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
      policy,
    );

    expect(tokens.refreshToken).not.toBe(login.refreshToken);
    expect(fake.faults.count('refresh')).toBe(3);
    expect(fake.refreshCount()).toBe(before + 1);
  });

  test('latency above timeoutMs ends the call quickly with OAuthUnavailableError', async () => {
    const login = fake.issueLogin();
    fake.faults.delay(3_000);
    const started = Date.now();

    const error = await failure(refresh(login.refreshToken, 150));

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(OAuthUnavailableError);
    expect(error.message).toMatch(/did not answer within 150ms/);
  });

  test('a refresh the client timed out may still rotate on the server: retrying the same token gets invalid_grant', async () => {
    const login = fake.issueLogin();
    const before = fake.refreshCount();
    fake.faults.delay(300);

    await expect(refresh(login.refreshToken, 50)).rejects.toBeInstanceOf(OAuthUnavailableError);
    await expect.poll(() => fake.refreshCount(), { timeout: 3_000 }).toBe(before + 1);
    fake.faults.delay(0);

    await expect(refresh(login.refreshToken)).rejects.toBeInstanceOf(InvalidGrantError);
  });

  test.each([
    { case: 'aborted during the call', abortAfterMs: 50 },
    { case: 'aborted before the call', abortAfterMs: 0 },
  ])('the caller signal is honoured when $case', async ({ abortAfterMs }) => {
    const login = fake.issueLogin();
    fake.faults.delay(3_000);
    const controller = new AbortController();
    if (abortAfterMs === 0) controller.abort();
    else setTimeout(() => controller.abort(), abortAfterMs);
    const started = Date.now();

    const error = await failure(
      refreshOAuthTokens(login.refreshToken, fake.settings, { now, signal: controller.signal, timeoutMs: 10_000 }),
    );

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(OAuthUnavailableError);
    expect(error.message).toMatch(/aborted/);
  });

  test.each([
    {
      case: 'a wrong client id',
      settings: () => ({ ...fake.settings, clientId: '00000000-0000-0000-0000-000000000000' }),
      code: 'invalid_client',
      hint: /check the OAuth client id/,
    },
    {
      case: 'a wrong token path',
      settings: () => ({ ...fake.settings, tokenUrl: fake.url.replace('/v1/oauth/token', '/oauth/token') }),
      code: 'not_found',
      hint: /check the OAuth token URL/,
    },
  ])('$case is an OAuthResponseError naming the OAuth error code', async ({ settings, code, hint }) => {
    const login = fake.issueLogin();

    const error = await failure(refreshOAuthTokens(login.refreshToken, settings(), { now, timeoutMs: 5_000 }));

    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error).toMatchObject({ exitCode: EXIT.dataError, retryable: false, oauthError: code });
    expect(error.message).toContain(code);
    expect(error.message).toMatch(hint);
    await expect(refresh(login.refreshToken)).resolves.toBeDefined();
  });

  test('a 403 (denied) is not retried: OAuthResponseError with the error code', async () => {
    const login = fake.issueLogin();
    fake.faults.failNext(1, 'denied', 'refresh');

    const error = await failure(refresh(login.refreshToken));

    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toMatch(/HTTP 403 access_denied/);
  });

  test('a server that quotes the refresh token in error_description cannot get it into the message', async () => {
    fake.options.echoTokenInErrors = true;
    const login = fake.issueLogin();
    await refresh(login.refreshToken);

    const error = await failure(refresh(login.refreshToken));

    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain(login.refreshToken.slice(-20));
  });

  test('the defaults are the values the Claude CLI (2.1.332) sends', () => {
    expect(DEFAULT_OAUTH_SETTINGS).toEqual({
      tokenUrl: 'https://platform.claude.com/v1/oauth/token',
      clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
      scope: 'user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload user:plugins',
    });
  });

  test('sends client_id and scope always, and a User-Agent that says it is claude-creds', async () => {
    const login = fake.issueLogin();
    await refreshOAuthTokens(login.refreshToken, { ...fake.settings, userAgent: 'claude-creds/9.9.9' }, { now });
    const request = fake.requests.at(-1);
    expect(request).toMatchObject({ accepted: true, clientId: fake.settings.clientId, scope: fake.settings.scope, userAgent: 'claude-creds/9.9.9' });
  });

  test.each([
    ['no clientId of its own: the CLI\'s id and scope, plus the kept scopes the login had', { scopes: ['user:inference', 'user:projects:read', 'user:other'] }, DEFAULT_OAUTH_SETTINGS.clientId, `${DEFAULT_OAUTH_SETTINGS.scope} user:projects:read`],
    ['its own clientId: that id, and its own scopes as they are', { clientId: 'custom-client', scopes: ['user:inference', 'user:other'] }, 'custom-client', 'user:inference user:other'],
  ])('%s', (_name, login, clientId, scope) => {
    expect(requestScopeFor(login, DEFAULT_OAUTH_SETTINGS)).toEqual({ clientId, scope });
  });

  test('refresh_token_expires_in becomes the login end, which a refresh never moves later', async () => {
    fake.options.refreshTokenExpiresInSeconds = 20 * 86_400;
    const login = fake.issueLogin();
    const tokens = await refreshOAuthTokens(login.refreshToken, fake.settings, { now });
    expect(tokens.refreshTokenExpiresAt).toBe(NOW + 20 * 86_400_000);
    const earlier = NOW + 5 * 86_400_000;
    const withEnd = JSON.stringify({ claudeAiOauth: { ...JSON.parse(login.json).claudeAiOauth, refreshTokenExpiresAt: earlier } });
    expect(parseCredentials(applyRefreshedTokens(withEnd, tokens)).oauth.refreshTokenExpiresAt).toBe(earlier);
    expect(parseCredentials(applyRefreshedTokens(login.json, tokens)).oauth.refreshTokenExpiresAt).toBe(NOW + 20 * 86_400_000);
  });

  test('a 429 with Retry-After is waited out by the shared retry, never asked again sooner', async () => {
    const login = fake.issueLogin();
    fake.faults.failNext(1, 'throttle');
    const started = Date.now();
    const tokens = await withRetry('refresh', (attempt) => refreshOAuthTokens(login.refreshToken, fake.settings, { now, signal: attempt.signal }), {
      deadlineMs: 10_000,
      initialDelayMs: 10,
      maxDelayMs: 50,
      multiplier: 2,
    });
    expect(tokens.accessToken).toBeTruthy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fake.requests.slice(-2).map((r) => r.accepted)).toEqual([false, true]);
  });
});

describe('applyRefreshedTokens', () => {
  const newTokens = (): RefreshedTokens => ({
    accessToken: fakeToken('oat'),
    refreshToken: fakeToken('ort'),
    expiresAt: NOW + 8 * 3600_000,
    scopes: ['user:inference', 'user:profile'],
  });

  test('replaces the four token fields and keeps every other key, in place, at both levels', () => {
    const original = makeFakeCredentials({
      subscriptionType: 'max',
      extraOAuth: { rateLimitTier: 'default_claude_max_20x', futureField: { nested: [1, 2] } },
      extraTopLevel: { mcpOAuth: { server: { token: 'x' } }, otherKey: 7 },
    });
    const tokens = newTokens();

    const result = applyRefreshedTokens(original.json, tokens);

    const parsed = parseCredentials(result);
    expect(parsed.oauth).toMatchObject({
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: tokens.expiresAt,
      scopes: tokens.scopes,
      subscriptionType: 'max',
    });
    expect(parsed.document).toMatchObject({ mcpOAuth: { server: { token: 'x' } }, otherKey: 7 });
    expect(parsed.document.claudeAiOauth).toMatchObject({ rateLimitTier: 'default_claude_max_20x', futureField: { nested: [1, 2] } });
    expect(Object.keys(parsed.document)).toEqual(Object.keys(JSON.parse(original.json) as object));
    expect(Object.keys(parsed.document.claudeAiOauth as object)).toEqual(
      Object.keys((JSON.parse(original.json) as { claudeAiOauth: object }).claudeAiOauth),
    );
    expect(result).not.toContain(original.accessToken);
    expect(result).not.toContain(original.refreshToken);
  });

  test.each([
    { layout: 'compact', format: (json: string) => json, check: (text: string) => expect(text).not.toContain('\n') },
    {
      layout: 'indented with a trailing newline',
      format: (json: string) => `${JSON.stringify(JSON.parse(json), null, 2)}\n`,
      check: (text: string) => expect(text).toMatch(/^\{\n {2}"claudeAiOauth": \{\n {4}"accessToken"[\s\S]*\}\n$/),
    },
  ])('keeps a $layout layout', ({ format, check }) => {
    const text = applyRefreshedTokens(format(makeFakeCredentials().json), newTokens());
    check(text);
    expect(parseCredentials(text).oauth.expiresAt).toBe(NOW + 8 * 3600_000);
  });

  test('the output of a real refresh applies to the login it came from', async () => {
    const login = fake.issueLogin({ subscriptionType: 'pro' });
    const tokens = await refresh(login.refreshToken);

    const parsed = parseCredentials(applyRefreshedTokens(login.json, tokens));

    expect(parsed.oauth).toMatchObject({ refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt, subscriptionType: 'pro' });
    expect(parsed.oauth.expiresAt).toBeGreaterThan(login.expiresAt);
  });

  test.each([
    { case: 'not JSON', text: () => `{"claudeAiOauth": ${fakeToken('oat')}` },
    { case: 'an array', text: () => '[]' },
    { case: 'without claudeAiOauth', text: () => JSON.stringify({ other: fakeToken('ort') }) },
  ])('refuses a document that is $case without quoting it', ({ text }) => {
    let error: unknown;
    try {
      applyRefreshedTokens(text(), newTokens());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidCredentialsError);
    assertNoLeaks('error message', (error as Error).message);
  });
});

/** A refresh token of a login that has since been refreshed (by "another copy"). */
async function rotatedAway(): Promise<string> {
  const login = fake.issueLogin();
  await refresh(login.refreshToken);
  return login.refreshToken;
}
