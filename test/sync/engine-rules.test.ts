import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { CommandContext } from '../../src/core/context.js';
import { parseCredentials } from '../../src/core/credentials.js';
import { pushedDocumentText } from '../../src/core/merge.js';
import { refreshOAuthTokens } from '../../src/oauth/refresh-client.js';
import { createAwsProvider } from '../../src/providers/aws/index.js';
import { SyncEngine, type SyncSettings } from '../../src/sync/sync-engine.js';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeOAuthServer, type FakeOAuthServer } from '../fakes/oauth-server.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { loginOf, sleep, syncSettings, waitFor } from '../support/sync-harness.js';
import { useTempDir } from '../support/temp-dir.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let aws: RunningFakeAws;
let oauth: FakeOAuthServer;
const engines: SyncEngine[] = [];
let counter = 0;

beforeAll(async () => {
  Object.assign(process.env, FAKE_AWS_ENV);
  aws = await startFakeAws();
  oauth = await startFakeOAuthServer({ refreshTokenExpiresInSeconds: 20 * 24 * 3600 });
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.stop(2000)));
  aws.faults.reset();
  oauth.faults.reset();
});
afterAll(async () => {
  await oauth.close();
  await aws.close();
});

const tempDir = useTempDir('claude-creds-rules-');

/** A context whose log lines are kept, and whose clock can be moved. */
function recordingContext(clock: { offsetMs: number } = { offsetMs: 0 }): { context: CommandContext; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { context: { logger, retry: { deadlineMs: 3000, initialDelayMs: 20, maxDelayMs: 200, multiplier: 2 }, now: () => Date.now() + clock.offsetMs }, lines };
}

async function startEngine(local: string, secret: string, overrides: Partial<SyncSettings>, context: CommandContext): Promise<SyncEngine> {
  const provider = await createAwsProvider(aws.providerConfig(secret));
  const engine = new SyncEngine(provider, syncSettings(local, { pullIntervalMs: 60_000, ...overrides }), context);
  engines.push(engine);
  await engine.start();
  return engine;
}

function newSecret(json: string): string {
  const name = `rules-${(counter += 1)}`;
  aws.store.addVersion(aws.storeKey(name), json);
  return name;
}

const storeText = (name: string): string => {
  const value = aws.store.current(aws.storeKey(name))?.value;
  return typeof value === 'string' ? value : Buffer.from(value ?? '').toString();
};

const refresh = (beforeMs = 10 * MINUTE): SyncSettings['refresh'] => ({
  beforeMs,
  jitterMs: 500,
  leaseMs: 60_000,
  oauth: oauth.settings,
  refresh: (token, call) => refreshOAuthTokens(token, oauth.settings, { now: Date.now, ...call }),
});

describe('an invalid store document', () => {
  test.each([
    ['garbage', 'oops'],
    ['a login the CLI blanked', JSON.stringify({ claudeAiOauth: { accessToken: '', refreshToken: '', expiresAt: 0 } })],
  ])('%s: the sidecar starts from a valid local file, says so once, and replaces it by compare-and-swap', async (_name, bad) => {
    const dir = tempDir();
    const secret = newSecret(bad);
    const local = join(dir, 'worker', '.credentials.json');
    const good = makeFakeCredentials({ expiresAt: Date.now() + 6 * HOUR, extraTopLevel: { mcpOAuth: { worker: 1 } } });
    mkdirSync(join(dir, 'worker'), { recursive: true });
    writeFileSync(local, good.json, { mode: 0o600 });
    const { context, lines } = recordingContext();
    const engine = await startEngine(local, secret, {}, context);
    expect(loginOf(storeText(secret))).toEqual(loginOf(good.json));
    expect(storeText(secret)).not.toContain('mcpOAuth');
    expect(lines.filter((line) => line.level === 40 && /invalid credentials document/.test(line.msg))).toHaveLength(1);
    expect(engine.status().counters.failures['invalid-store']).toBe(1);
    expect(engine.status().storeDocument).toBe('valid');
  });
});

describe('a login the Claude CLI rejected', () => {
  test('is never written back, keeps the sidecar not ready, and is an ERROR only once it has not healed for 2 minutes', async () => {
    const dir = tempDir();
    const login = makeFakeCredentials({ expiresAt: Date.now() + 6 * HOUR });
    const secret = newSecret(login.json);
    const local = join(dir, 'worker', '.credentials.json');
    const clock = { offsetMs: 0 };
    const { context, lines } = recordingContext(clock);
    const engine = await startEngine(local, secret, { pullIntervalMs: 100 }, context);
    // The CLI's wipe after invalid_grant, keys in place.
    const wiped = JSON.parse(readFileSync(local, 'utf8')) as { claudeAiOauth: Record<string, unknown> };
    wiped.claudeAiOauth = { ...wiped.claudeAiOauth, accessToken: '', refreshToken: '', expiresAt: 0 };
    writeFileSync(local, JSON.stringify(wiped));
    await waitFor(() => engine.status().notReadyReason?.includes('rejected') === true, 3000, 'the sidecar to see the rejection');
    await sleep(600); // several pulls of the same dead login
    expect(JSON.parse(readFileSync(local, 'utf8')).claudeAiOauth.accessToken).toBe('');
    expect(engine.status().ready).toBe(false);
    expect(lines.filter((line) => line.level >= 50)).toHaveLength(0);
    clock.offsetMs = 2 * MINUTE + 1000;
    await engine.pullNow();
    await engine.pullNow();
    expect(lines.filter((line) => line.level >= 50 && /claude login/.test(line.msg))).toHaveLength(1);
    // A different login in the store heals it.
    const next = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    aws.store.addVersion(aws.storeKey(secret), next.json);
    await engine.pullNow();
    expect(JSON.parse(readFileSync(local, 'utf8')).claudeAiOauth.accessToken).toBe(next.accessToken);
    expect(engine.status().ready).toBe(true);
  });
});

describe('readiness around the fleet refresh', () => {
  test('not ready while the local token is inside the CLI window and the refresh is pending, ready once refreshed', async () => {
    const dir = tempDir();
    const login = oauth.issueLogin({ expiresInMs: 4 * MINUTE });
    const secret = newSecret(login.json);
    const local = join(dir, 'worker', '.credentials.json');
    oauth.faults.delay(1500);
    const { context } = recordingContext();
    const engine = await startEngine(local, secret, { refresh: refresh() }, context);
    expect(engine.status().ready).toBe(false);
    expect(engine.status().notReadyReason).toMatch(/inside the Claude CLI's own refresh window/);
    await waitFor(() => engine.status().ready, 8000, 'the refresh');
    expect(parseCredentials(readFileSync(local, 'utf8')).oauth.expiresAt).toBeGreaterThan(Date.now() + 7 * HOUR);
  });
});

describe('only the login travels', () => {
  test('the worker\'s mcpOAuth stays its own on pull and never reaches the store; the store\'s own keys survive a push', async () => {
    const dir = tempDir();
    const stored = makeFakeCredentials({ expiresAt: Date.now() + HOUR, extraTopLevel: { mcpOAuth: { fromLaptop: 1 }, storeNote: 'keep' } });
    const secret = newSecret(stored.json);
    const local = join(dir, 'worker', '.credentials.json');
    mkdirSync(join(dir, 'worker'), { recursive: true });
    const mine = makeFakeCredentials({ expiresAt: Date.now() + 30 * MINUTE, extraTopLevel: { mcpOAuth: { worker: 'own' } } });
    writeFileSync(local, mine.json, { mode: 0o600 });
    const { context } = recordingContext();
    const engine = await startEngine(local, secret, {}, context);
    const pulled = JSON.parse(readFileSync(local, 'utf8')) as Record<string, unknown>;
    expect(pulled.mcpOAuth).toEqual({ worker: 'own' });
    expect(pulled).not.toHaveProperty('storeNote');
    expect((pulled.claudeAiOauth as { accessToken: string }).accessToken).toBe(stored.accessToken);
    // The CLI refreshes: only claudeAiOauth goes to the store.
    const refreshed = JSON.parse(makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR }).json) as Record<string, unknown>;
    writeFileSync(local, JSON.stringify({ ...refreshed, mcpOAuth: { worker: 'changed' } }));
    await waitFor(() => loginOf(storeText(secret)) !== undefined && JSON.stringify(loginOf(storeText(secret))) === JSON.stringify(refreshed.claudeAiOauth), 3000, 'the push');
    const pushed = JSON.parse(storeText(secret)) as Record<string, unknown>;
    expect(pushed.mcpOAuth).toEqual({ fromLaptop: 1 });
    expect(pushed.storeNote).toBe('keep');
    await engine.idle();
    expect(engine.status().counters.pushes).toBe(1);
  });
});

describe('store order over clocks', () => {
  test('a newer generation is pulled even when its token expires earlier by the clock, and a refresh of it is pushed though it looks older', async () => {
    const dir = tempDir();
    const first = parseCredentials(makeFakeCredentials({ expiresAt: Date.now() + 6 * HOUR }).json);
    const secret = newSecret(pushedDocumentText(first, { generation: 5, writtenAt: Date.now(), writer: 'operator' }));
    const local = join(dir, 'worker', '.credentials.json');
    const { context } = recordingContext();
    const engine = await startEngine(local, secret, {}, context);
    // Another sidecar pushed generation 6 from a clock that runs behind: its expiry looks earlier.
    const behind = parseCredentials(makeFakeCredentials({ expiresAt: Date.now() + 2 * HOUR }).json);
    aws.store.addVersion(aws.storeKey(secret), pushedDocumentText(behind, { generation: 6, writtenAt: Date.now(), writer: 'elsewhere' }));
    await engine.pullNow();
    expect(parseCredentials(readFileSync(local, 'utf8')).oauth.accessToken).toBe(behind.oauth.accessToken);
    // This worker's CLI refreshes it; the refresh must reach the store whatever the expiries say.
    const child = makeFakeCredentials({ expiresAt: Date.now() + 3 * HOUR });
    writeFileSync(local, child.json);
    await waitFor(() => loginOf(storeText(secret)) !== undefined && (loginOf(storeText(secret)) as { accessToken: string }).accessToken === child.accessToken, 3000, 'the push');
    expect((JSON.parse(storeText(secret)) as { claudeCredsSync: { generation: number } }).claudeCredsSync.generation).toBe(7);
    void engine;
  });

  test('a document from another, older login never replaces the fleet login, even with a later expiry', async () => {
    const dir = tempDir();
    const fleet = makeFakeCredentials({ expiresAt: Date.now() + 2 * HOUR, extraOAuth: { refreshTokenExpiresAt: Date.now() + 25 * DAY } });
    const secret = newSecret(fleet.json);
    const local = join(dir, 'worker', '.credentials.json');
    mkdirSync(join(dir, 'worker'), { recursive: true });
    const oldLogin = makeFakeCredentials({ expiresAt: Date.now() + 7 * HOUR, extraOAuth: { refreshTokenExpiresAt: Date.now() + 5 * DAY } });
    writeFileSync(local, oldLogin.json, { mode: 0o600 });
    const { context } = recordingContext();
    await startEngine(local, secret, {}, context);
    expect((loginOf(storeText(secret)) as { accessToken: string }).accessToken).toBe(fleet.accessToken);
    expect(parseCredentials(readFileSync(local, 'utf8')).oauth.accessToken).toBe(fleet.accessToken);
  });
});

describe('shutdown with the store down', () => {
  test('stop() returns within its flush timeout while every store call hangs, and the flush is cut short', async () => {
    const dir = tempDir();
    const secret = newSecret(makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json);
    const local = join(dir, 'worker', '.credentials.json');
    const { context } = recordingContext();
    const provider = await createAwsProvider(aws.providerConfig(secret));
    const engine = new SyncEngine(provider, syncSettings(local, { pullIntervalMs: 100 }), { ...context, retry: { deadlineMs: 60_000, initialDelayMs: 200, maxDelayMs: 2000, multiplier: 2 } });
    await engine.start();
    // From now on the store fails every call with 503 after 2 s: pulls retry for up to 60 s.
    aws.faults.failRandomly(1, 'unavailable').delay(2000);
    writeFileSync(local, makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR }).json);
    await sleep(400);
    const started = Date.now();
    await engine.stop(3000);
    const took = Date.now() - started;
    console.log(`[shutdown] stop() with the store down took ${took} ms for a 3000 ms flush timeout`);
    expect(took).toBeLessThan(3000 + 500);
  });
});

describe('the login\'s end', () => {
  test('warns once at each of 7d, 3d and 1d, survives every merge and refresh, and shows in /status and the metric', async () => {
    const dir = tempDir();
    const end = Date.now() + 2 * DAY + HOUR;
    const login = oauth.issueLogin({ expiresInMs: 4 * MINUTE, extraOAuth: { refreshTokenExpiresAt: end } });
    const secret = newSecret(login.json);
    const local = join(dir, 'worker', '.credentials.json');
    const { context, lines } = recordingContext();
    const engine = await startEngine(local, secret, { refresh: refresh(), loginWarnBeforeMs: [7 * DAY, 3 * DAY, DAY] }, context);
    await waitFor(() => engine.status().ready, 8000, 'the refresh');
    await engine.pullNow();
    await engine.pullNow();
    const warnings = lines.filter((line) => /the login \(refresh token\) expires in/.test(line.msg));
    expect(warnings).toHaveLength(2); // 7d and 3d crossed, 1d not yet; each once
    // The refresh kept the end (the endpoint said 20 days: a refresh never moves it later).
    expect(parseCredentials(readFileSync(local, 'utf8')).oauth.refreshTokenExpiresAt).toBe(end);
    expect((loginOf(storeText(secret)) as { refreshTokenExpiresAt: number }).refreshTokenExpiresAt).toBe(end);
    expect(engine.status().loginEndsAt).toBe(end);
  });
});

