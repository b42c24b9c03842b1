import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startFakeOAuthServer, type FakeOAuthServer } from '../fakes/oauth-server.js';
import { OWNER_RECORD_NAME, ownIdentity, pidViewTrusted, type OwnerRecord } from './claude-cli-owner-record.js';
import { assertNoLeaks } from './leak-check.js';
import { CLAUDE_CLI_CLIENT_ID, SimulatedClaudeCli, type ClaudeCliVersion, type SimulatedClaudeCliCounts } from './simulated-claude-cli.js';
import { legacyLockPath } from './simulated-claude-cli-locks.js';
import { spawnSimulatedClaudeCli } from './simulated-claude-cli-process.js';
import { useTempDir } from './temp-dir.js';

const VERSIONS: ClaudeCliVersion[] = ['2.1.197', '2.1.332'];
/** The CLI's 5 retries, shortened: the lock thresholds (10 s / 60 s stale) stay the real ones. */
const FAST = { retryBaseMs: 20, retryJitterMs: 20, takeoverWatchMs: 300 };
const MCP = { 'srv|abc': { serverName: 'srv', accessToken: 'not-a-claude-token' } };
const SCOPE_197 = 'user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload';
const SCOPE_332 = `${SCOPE_197} user:plugins`;

interface Oauth {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt: number;
  readonly [key: string]: unknown;
}

describe('simulated Claude CLI', () => {
  const tempDir = useTempDir('sim-cli-');
  let oauth: FakeOAuthServer;
  beforeEach(async () => {
    oauth = await startFakeOAuthServer();
  });
  afterEach(async () => {
    await oauth.close();
  });

  function configDir(name: string, json: string): string {
    const dir = join(tempDir(), name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, '.credentials.json'), json, { mode: 0o600 });
    return dir;
  }
  const documentIn = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, '.credentials.json'), 'utf8')) as Record<string, unknown>;
  const oauthIn = (dir: string): Oauth => documentIn(dir).claudeAiOauth as Oauth;
  const sum = (clis: SimulatedClaudeCli[], key: keyof SimulatedClaudeCliCounts): number => clis.reduce((n, cli) => n + cli.counts[key], 0);

  test.each(VERSIONS)(
    '%s: three CLIs with their own copies of one login refresh it without coordination: 3 token requests, 2 invalid_grant, 2 wiped files',
    async (version) => {
      const login = oauth.issueLogin({ expiresInMs: 2 * 60_000, extraTopLevel: { mcpOAuth: MCP } });
      const dirs = ['a', 'b', 'c'].map((name) => configDir(name, login.json));
      const clis = dirs.map((dir) => new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version, timing: FAST }));

      await Promise.all(clis.map((cli) => cli.request()));

      expect([sum(clis, 'tokenRequests'), sum(clis, 'refreshed'), sum(clis, 'invalidGrant'), sum(clis, 'wipes')]).toEqual([3, 1, 2, 2]);
      expect([oauth.requests.length, oauth.refreshCount(), oauth.reusedCount()]).toEqual([3, 1, 2]);
      expect(sum(clis, 'staleRefreshTokenAttempts')).toBe(2);
      const wipedDirs = dirs.filter((dir) => oauthIn(dir).refreshToken === '');
      expect(wipedDirs).toHaveLength(2);
      for (const dir of wipedDirs) {
        const wiped = oauthIn(dir);
        expect([wiped.accessToken, wiped.refreshToken, wiped.expiresAt]).toEqual(['', '', 0]);
        expect(Object.keys(wiped).slice(0, 5)).toEqual(['accessToken', 'refreshToken', 'expiresAt', 'scopes', 'subscriptionType']);
        expect(documentIn(dir).mcpOAuth).toEqual(MCP);
      }
      const winner = dirs.find((dir) => !wipedDirs.includes(dir));
      expect(winner && oauthIn(winner).refreshToken).not.toBe(login.refreshToken);
      // 2.1.197 still sends the access token it had read; 2.1.332 fails the losers' requests.
      expect(sum(clis, 'apiRequests')).toBe(version === '2.1.197' ? 3 : 1);
      expect(sum(clis, 'loginFailed')).toBe(version === '2.1.197' ? 0 : 2);
    },
  );

  test.each(VERSIONS)('%s: one CLI inside the window refreshes exactly once over five requests and keeps the rest of the file', async (version) => {
    const login = oauth.issueLogin({ expiresInMs: 2 * 60_000, extraTopLevel: { mcpOAuth: MCP } });
    const dir = configDir('cfg', login.json);
    const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version, timing: FAST });

    for (let index = 0; index < 5; index += 1) await cli.request();

    expect([cli.counts.tokenRequests, cli.counts.refreshed, cli.counts.apiRequests, oauth.refreshCount()]).toEqual([1, 1, 5, 1]);
    const saved = oauthIn(dir);
    expect(saved.accessToken).not.toBe(login.accessToken);
    // The key list both real CLIs wrote in the same case (docs/claude-cli-behaviour.md).
    expect(Object.keys(saved)).toEqual(['accessToken', 'refreshToken', 'expiresAt', 'scopes', 'subscriptionType', 'rateLimitTier']);
    expect(saved.expiresAt).toBeGreaterThan(Date.now() + 7 * 3600_000);
    expect(documentIn(dir).mcpOAuth).toEqual(MCP);
    expect(statSync(join(dir, '.credentials.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((name) => name !== '.credentials.json')).toEqual([]);
    expect(existsSync(await legacyLockPath(dir))).toBe(false);
    const sent = oauth.requests[0];
    expect([sent?.clientId, sent?.scope, sent?.userAgent]).toEqual([CLAUDE_CLI_CLIENT_ID, version === '2.1.197' ? SCOPE_197 : SCOPE_332, 'axios/1.15.2']);
  });

  test('outside the window the CLI sends its token and never refreshes', async () => {
    const dir = configDir('cfg', oauth.issueLogin({ expiresInMs: 6 * 60_000 }).json);
    const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, timing: FAST });
    await cli.request();
    expect([cli.counts.tokenRequests, cli.counts.apiRequests, cli.counts.staleTokenRequests]).toEqual([0, 1, 0]);
  });

  test.each(VERSIONS)('%s: an expired token whose refresh fails (503) is sent all the same: one stale-token request, file untouched', async (version) => {
    const login = oauth.issueLogin({ expiresInMs: -1000 });
    const dir = configDir('cfg', login.json);
    oauth.faults.failNext(1, 'unavailable');
    const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version, timing: FAST });

    const outcome = await cli.request();

    expect([outcome.refresh, outcome.result, outcome.sentExpiredToken]).toEqual(['refresh_failed', 'api', true]);
    expect([cli.counts.staleAccessTokenRequests, cli.counts.staleTokenRequests, cli.counts.wipes]).toEqual([1, 1, 0]);
    expect(readFileSync(join(dir, '.credentials.json'), 'utf8')).toBe(login.json);
  });

  test('2.1.332 never sets or extends refreshTokenExpiresAt on a refresh; a login that reached its time limit is wiped with loginEnded', async () => {
    oauth.options.refreshTokenExpiresInSeconds = 30 * 86400;
    const deadline = Date.now() + 2 * 86400_000;
    const withDeadline = configDir('with', oauth.issueLogin({ expiresInMs: 60_000, extraOAuth: { refreshTokenExpiresAt: deadline } }).json);
    const without = configDir('without', oauth.issueLogin({ expiresInMs: 60_000 }).json);
    for (const dir of [withDeadline, without]) await new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, timing: FAST }).request();
    expect(oauthIn(withDeadline).refreshTokenExpiresAt).toBe(deadline);
    expect('refreshTokenExpiresAt' in oauthIn(without)).toBe(false);

    oauth.options.invalidGrantDescription = 'Refresh token expired';
    const ended = configDir('ended', JSON.stringify({ claudeAiOauth: { ...oauthIn(without), expiresAt: Date.now() - 1000, refreshToken: 'sk-ant-ort01-FAKE-TEST-unknown' } }));
    await new SimulatedClaudeCli({ configDir: ended, tokenUrl: oauth.url, timing: FAST }).request();
    expect(oauthIn(ended)).toMatchObject({ accessToken: '', refreshToken: '', expiresAt: 0, loginEnded: 'time_limit' });
  });

  test.each(VERSIONS)('%s: a CLI whose locks are held waits, then finds the refreshed file and does not refresh', async (version) => {
    const login = oauth.issueLogin({ expiresInMs: 2 * 60_000 });
    const dir = configDir('cfg', login.json);
    const options = { realpath: false, stale: 10_000 };
    const releaseMain = await lockfile.lock(join(dir, '.oauth_refresh'), { ...options, lockfilePath: join(dir, '.oauth_refresh.lock') });
    const legacy = await legacyLockPath(dir);
    const releaseLegacy = await lockfile.lock(legacy, { ...options, lockfilePath: legacy });
    const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version, timing: { retryBaseMs: 100, retryJitterMs: 50 } });

    const pending = cli.request();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const refreshed = oauth.issueLogin();
    writeFileSync(join(dir, 'next.json'), refreshed.json, { mode: 0o600 });
    renameSync(join(dir, 'next.json'), join(dir, '.credentials.json'));
    await releaseLegacy();
    await releaseMain();
    const outcome = await pending;

    expect([outcome.refresh, outcome.result, cli.counts.tokenRequests, oauth.requests.length]).toEqual(['race_resolved', 'api', 0, 0]);
    expect(oauthIn(dir).accessToken).toBe(refreshed.accessToken);
  });

  test('two CLIs of different versions sharing one config dir: one refresh, no invalid_grant, no wipe', async () => {
    const dir = configDir('cfg', oauth.issueLogin({ expiresInMs: 2 * 60_000 }).json);
    oauth.faults.delay(300);
    const clis = VERSIONS.map((version) => new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version, timing: { retryBaseMs: 150, retryJitterMs: 100 } }));
    const outcomes = await Promise.all(clis.map((cli) => cli.request()));
    expect([sum(clis, 'tokenRequests'), sum(clis, 'invalidGrant'), sum(clis, 'wipes'), sum(clis, 'apiRequests')]).toEqual([1, 0, 0, 2]);
    expect(outcomes.map((o) => o.refresh).sort()).toEqual(['race_resolved', 'refreshed']);
  });

  describe('a lock left by a holder that is gone', () => {
    async function deadPid(): Promise<number> {
      const child = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => child.once('exit', resolve));
      if (child.pid === undefined) throw new Error('no pid');
      return child.pid;
    }
    function holdLock(dir: string, record: (birthtimeMs: number) => Partial<OwnerRecord> | undefined): string {
      const lock = join(dir, '.oauth_refresh.lock');
      mkdirSync(lock);
      const made = record(statSync(lock).birthtimeMs);
      if (made !== undefined) writeFileSync(join(dir, OWNER_RECORD_NAME), JSON.stringify(made));
      return lock;
    }

    test('2.1.332 takes over a lock whose owner record names a dead pid of its own pid namespace, then refreshes', async () => {
      expect(pidViewTrusted()).toBe(true);
      const dir = configDir('cfg', oauth.issueLogin({ expiresInMs: 2 * 60_000 }).json);
      const pid = await deadPid();
      const lock = holdLock(dir, (birthtime) => ({ ...ownIdentity(), pid, procStart: undefined, lockBirthtimeMs: birthtime }));
      const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version: '2.1.332', timing: FAST });

      const outcome = await cli.request();

      expect([outcome.refresh, cli.counts.tokenRequests, cli.counts.takeovers]).toEqual(['refreshed', 1, 1]);
      expect(cli.takeoverOutcomes).toEqual(['taken_over']);
      expect([existsSync(lock), existsSync(join(dir, OWNER_RECORD_NAME))]).toEqual([false, false]);
    });

    test.each([
      ['alive: this very process', async (birthtime: number) => ({ ...ownIdentity(), lockBirthtimeMs: birthtime }), 'holder_not_proven_gone'],
      [
        'dead, but in another pid namespace',
        async (birthtime: number) => ({ ...ownIdentity(), pid: await deadPid(), pidDomain: 'linux::pid:[4026599999]', pidSpace: 'other#pid:[4026599999]', lockBirthtimeMs: birthtime }),
        'foreign_pid_space',
      ],
      ['dead, but its record is of an older lock', async (birthtime: number) => ({ ...ownIdentity(), pid: await deadPid(), lockBirthtimeMs: birthtime - 5000 }), 'record_mismatch'],
      ['dead, but its record is a bare {pid}', async () => ({ pid: await deadPid() }), 'no_owner_record'],
      ['unknown: no record at all', async () => undefined, 'no_owner_record'],
    ] as const)('2.1.332 does not take over a lock whose holder is %s', async (_what, makeRecord, expected) => {
      const dir = configDir('cfg', oauth.issueLogin({ expiresInMs: 2 * 60_000 }).json);
      const lock = join(dir, '.oauth_refresh.lock');
      mkdirSync(lock);
      const record = await makeRecord(statSync(lock).birthtimeMs);
      if (record !== undefined) writeFileSync(join(dir, OWNER_RECORD_NAME), JSON.stringify(record));
      const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version: '2.1.332', timing: FAST });

      const outcome = await cli.request();

      expect([outcome.refresh, outcome.result, cli.counts.tokenRequests]).toEqual(['lock_timeout', 'api', 0]);
      expect(cli.takeoverOutcomes).toEqual([expected]);
      expect(existsSync(lock)).toBe(true);
    });

    test('2.1.197 never takes over: a dead-pid record means nothing to it until the lock is 10 s stale', async () => {
      const dir = configDir('cfg', oauth.issueLogin({ expiresInMs: 2 * 60_000 }).json);
      const pid = await deadPid();
      holdLock(dir, (birthtime) => ({ ...ownIdentity(), pid, lockBirthtimeMs: birthtime }));
      const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version: '2.1.197', timing: FAST });
      const outcome = await cli.request();
      expect([outcome.refresh, cli.counts.tokenRequests, cli.takeoverOutcomes.length]).toEqual(['lock_timeout', 0, 0]);
    });

    test('a 2.1.332 CLI process killed mid-refresh leaves its locks and owner record; another 2.1.332 takes them over, a 2.1.197 does not', async () => {
      // The crashed CLI's token request goes to an endpoint that never answers, so nothing was rotated.
      const blackHole: Server = createServer(() => undefined);
      await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
      try {
        const dir = configDir('cfg', oauth.issueLogin({ expiresInMs: 2 * 60_000 }).json);
        const blackHoleUrl = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}/v1/oauth/token`;
        const crashing = spawnSimulatedClaudeCli({ configDir: dir, tokenUrl: blackHoleUrl, version: '2.1.332', requests: 1 });
        await crashing.ready;
        const deadline = Date.now() + 20_000;
        while (!existsSync(join(dir, OWNER_RECORD_NAME)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        const record = JSON.parse(readFileSync(join(dir, OWNER_RECORD_NAME), 'utf8')) as OwnerRecord;
        expect(record.pid).toBe(crashing.pid);
        expect([record.pidDomain, record.pidSpace]).toEqual([ownIdentity().pidDomain, ownIdentity().pidSpace]);
        await crashing.kill();

        const old = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version: '2.1.197', timing: FAST });
        expect((await old.request()).refresh).toBe('lock_timeout');
        const newer = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version: '2.1.332', timing: FAST });
        expect((await newer.request()).refresh).toBe('refreshed');
        expect([newer.takeoverOutcomes, oauth.refreshCount(), oauth.reusedCount()]).toEqual([['taken_over'], 1, 0]);
      } finally {
        blackHole.closeAllConnections();
        await new Promise((resolve) => blackHole.close(resolve));
      }
    });
  });

  test('runs as a child process: a loop of requests at an interval, reported as one structured result without tokens', async () => {
    const login = oauth.issueLogin({ expiresInMs: 2 * 60_000 });
    const dir = configDir('cfg', login.json);
    chmodSync(dir, 0o700);
    const child = spawnSimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version: '2.1.197', requests: 3, intervalMs: 50 });
    const report = await child.result;
    expect(report.version).toBe('2.1.197');
    expect([report.counts.requests, report.counts.tokenRequests, report.counts.apiRequests, report.outcomes.length]).toEqual([3, 1, 3, 3]);
    expect(oauthIn(dir).accessToken).not.toBe(login.accessToken);
    assertNoLeaks('simulated CLI report', JSON.stringify(report));
  });
});
