/**
 * A fleet on one login, in one process: N workers, each a sidecar (SyncEngine, proactive refresh on,
 * full worker copies) beside a simulated Claude CLI (test/support/simulated-claude-cli.ts: refreshes under
 * the CLI's locks inside the last 5 minutes, re-reads under them, wipes on invalid_grant), on one store (the
 * AWS fake) and one rotating token endpoint (the OAuth fake). A monitor reads every worker's file every few
 * milliseconds and records any moment a file holds a refresh token the endpoint has already rotated.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { CommandContext } from '../../src/core/context.js';
import { parseCredentials } from '../../src/core/credentials.js';
import { pushedDocumentText } from '../../src/core/merge.js';
import { refreshOAuthTokens } from '../../src/oauth/refresh-client.js';
import { createAwsProvider } from '../../src/providers/aws/index.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import type { RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import type { FakeOAuthServer } from '../fakes/oauth-server.js';
import { SimulatedClaudeCli, type ClaudeCliVersion, type SimulatedClaudeCliCounts } from '../support/simulated-claude-cli.js';
import { sleep, syncSettings } from '../support/sync-harness.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface FleetRun {
  readonly name: string;
  readonly workers: number;
  /** expiresAt minus now when the fleet starts: inside the CLI's window, expired, or outside. */
  readonly startOffsetMs: number;
  /** How long the token endpoint takes to answer. */
  readonly endpointDelayMs: number;
  /** Worker index whose clock (sidecar and CLI) runs this far ahead. */
  readonly skewed?: { readonly index: number; readonly leadMs: number };
  readonly refreshBeforeMs?: number;
  readonly jitterMs?: number;
  /** Longest the run may take. */
  readonly maxMs?: number;
  /** The token endpoint turns claude-creds away (by its User-Agent): the fleet must fall back to one CLI's own refresh. */
  readonly endpointRefusesUs?: boolean;
}

export interface FleetReport {
  readonly name: string;
  readonly tokenRequests: number;
  readonly accepted: number;
  /** Token requests claude-creds made (by User-Agent), the rest being the CLIs'. */
  readonly fromClaudeCreds: number;
  /** invalid_grant answers the endpoint gave (a rotated refresh token presented). */
  readonly invalidGrant: number;
  /** Requests the endpoint turned away as from a refused client. */
  readonly refused: number;
  readonly wipedFiles: number;
  /** CLI requests sent with an expired access token, and refresh attempts with a rotated refresh token. */
  readonly staleAccessTokenRequests: number;
  readonly staleRefreshTokenAttempts: number;
  /** Observations of a worker file holding a refresh token the endpoint had already rotated, outside the refresh lock. */
  readonly rotatedTokenInFile: number;
  readonly cliRequests: number;
  readonly cliLockWaits: number;
  readonly takeovers: number;
  /** Every worker's file holds the store's (new) login at the end. */
  readonly converged: boolean;
  readonly ms: number;
}

const silent = pino({ level: 'silent' });
let secretCounter = 0;

export async function runFleet(run: FleetRun, aws: RunningFakeAws, oauth: FakeOAuthServer, root: string): Promise<FleetReport> {
  const started = Date.now();
  const secret = `fleet-${(secretCounter += 1)}-${process.pid}`;
  const loginEnd = Date.now() + 20 * DAY;
  const login = oauth.issueLogin({ expiresInMs: run.startOffsetMs, extraOAuth: { refreshTokenExpiresAt: loginEnd } });
  // As `claude-creds push` stores it after `claude login`: the login with claude-creds' bookkeeping (generation, writer's clock).
  aws.store.addVersion(aws.storeKey(secret), pushedDocumentText(parseCredentials(login.json), { generation: 1, writtenAt: Date.now(), writer: 'operator' }));
  oauth.faults.reset();
  if (run.endpointDelayMs > 0) oauth.faults.delay(run.endpointDelayMs);
  oauth.options.refuseUserAgent = run.endpointRefusesUs ? /^claude-creds\// : undefined;
  const requestsBefore = oauth.requests.length;
  const provider = await createAwsProvider(aws.providerConfig(secret));

  const workers = Array.from({ length: run.workers }, (_, index) => {
    const lead = run.skewed?.index === index ? run.skewed.leadMs : 0;
    const now = () => Date.now() + lead;
    const configDir = join(root, `${secret}-w${index}`);
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    const context: CommandContext = { logger: silent, retry: { deadlineMs: 8000, initialDelayMs: 20, maxDelayMs: 300, multiplier: 2 }, now };
    const engine = new SyncEngine(
      provider,
      syncSettings(join(configDir, '.credentials.json'), {
        pullIntervalMs: 1000,
        warnBeforeMs: [],
        loginWarnBeforeMs: [],
        refresh: {
          beforeMs: run.refreshBeforeMs ?? 10 * MINUTE,
          jitterMs: run.jitterMs ?? 1500,
          leaseMs: 60_000,
          oauth: { ...oauth.settings, userAgent: 'claude-creds/test' },
          refresh: (token, call) => refreshOAuthTokens(token, { ...oauth.settings, userAgent: 'claude-creds/test' }, { now, ...call }),
        },
        holderId: `${secret}-w${index}`,
        leaseSettleMs: 300,
      }),
      context,
    );
    const version: ClaudeCliVersion = index % 2 === 0 ? '2.1.332' : '2.1.197';
    const cli = new SimulatedClaudeCli({ configDir, tokenUrl: oauth.url, version, now });
    return { index, configDir, engine, cli, path: join(configDir, '.credentials.json') };
  });

  let rotatedTokenInFile = 0;
  let monitoring = true;
  const monitor = (async () => {
    while (monitoring) {
      for (const worker of workers) {
        // Under the CLI's refresh lock the file is mid-refresh (rotated at the endpoint, not yet saved): no CLI
        // can present it then. Outside it, a rotated token in a file is one a CLI could present.
        const locked = existsSync(join(worker.configDir, '.oauth_refresh.lock'));
        const refreshToken = refreshTokenIn(worker.path);
        if (refreshToken !== undefined && oauth.isRotated(refreshToken) && !(locked && existsSync(join(worker.configDir, '.oauth_refresh.lock')))) rotatedTokenInFile += 1;
      }
      await sleep(10);
    }
  })();

  const stop = new AbortController();
  await Promise.all(workers.map((worker) => worker.engine.start()));
  // Each worker's CLI starts as soon as its file is there (Compose `service_started`), not after readiness.
  const clis = workers.map(async (worker) => {
    while (!existsSync(worker.path) && !stop.signal.aborted) await sleep(10);
    while (!stop.signal.aborted) {
      await worker.cli.request();
      await sleep(150 + Math.random() * 150);
    }
  });

  const deadline = started + (run.maxMs ?? 30_000);
  let converged = false;
  while (Date.now() < deadline) {
    const store = aws.store.current(aws.storeKey(secret))?.value;
    const storeLogin = store === undefined ? undefined : loginIn(typeof store === 'string' ? store : Buffer.from(store).toString());
    const fresh = storeLogin !== undefined && storeLogin.expiresAt > Date.now() + 7 * HOUR;
    if (fresh && workers.every((worker) => accessTokenIn(worker.path) === storeLogin.accessToken && worker.cli.counts.requests >= 3)) {
      converged = true;
      break;
    }
    await sleep(50);
  }
  // A little longer: every CLI makes requests on the new login, and nothing is still in flight.
  await sleep(800);
  stop.abort();
  await Promise.all(clis);
  await Promise.all(workers.map((worker) => worker.engine.stop(2000)));
  monitoring = false;
  await monitor;

  const sum = (key: keyof SimulatedClaudeCliCounts): number => workers.reduce((total, worker) => total + worker.cli.counts[key], 0);
  const requests = oauth.requests.slice(requestsBefore);
  return {
    name: run.name,
    tokenRequests: requests.length,
    accepted: requests.filter((request) => request.accepted).length,
    fromClaudeCreds: requests.filter((request) => request.userAgent?.startsWith('claude-creds/') === true).length,
    invalidGrant: requests.filter((request) => request.reason === 'dead').length,
    refused: requests.filter((request) => request.reason === 'refused_client').length,
    wipedFiles: sum('wipes'),
    staleAccessTokenRequests: sum('staleAccessTokenRequests'),
    staleRefreshTokenAttempts: sum('staleRefreshTokenAttempts'),
    rotatedTokenInFile,
    cliRequests: sum('requests'),
    cliLockWaits: sum('lockBusy') + sum('lockTimeout') + sum('raceResolved'),
    takeovers: sum('takeovers'),
    converged,
    ms: Date.now() - started,
  };
}

function documentIn(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function loginIn(text: string): { accessToken: string; refreshToken: string; expiresAt: number } | undefined {
  try {
    const oauth = (JSON.parse(text) as { claudeAiOauth?: { accessToken?: string; refreshToken?: string; expiresAt?: number } }).claudeAiOauth;
    return oauth === undefined ? undefined : { accessToken: oauth.accessToken ?? '', refreshToken: oauth.refreshToken ?? '', expiresAt: oauth.expiresAt ?? 0 };
  } catch {
    return undefined;
  }
}

function oauthIn(path: string): Record<string, unknown> | undefined {
  const oauth = documentIn(path)?.claudeAiOauth;
  return typeof oauth === 'object' && oauth !== null ? (oauth as Record<string, unknown>) : undefined;
}

function refreshTokenIn(path: string): string | undefined {
  const token = oauthIn(path)?.refreshToken;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

function accessTokenIn(path: string): string | undefined {
  const token = oauthIn(path)?.accessToken;
  return typeof token === 'string' ? token : undefined;
}
