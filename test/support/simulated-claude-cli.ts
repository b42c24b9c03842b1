/**
 * A simulated Claude Code CLI for the test suite: what the real CLI does with its OAuth login, per
 * docs/claude-cli-behaviour.md, as 2.1.197 (locks stale after 10 s, no owner record) or 2.1.332 (stale
 * after 60 s, `.oauth_refresh.lock.owner`, takeover of holders proven dead, CAS save).
 *
 * One `request()` is one API request of a worker's CLI: stat the credentials file (re-read when its mtime
 * changed); inside the last 5 minutes before `expiresAt` (or past it) re-read, take the two refresh locks,
 * re-read under them, refresh against `tokenUrl` if still needed, save temp+rename under
 * `.storage-write.lock`; on `invalid_grant` wipe the tokens by CAS. Then "send" the API request (to
 * `apiUrl` when given) with the access token the CLI would use — an expired one included, as the real
 * CLI does when its refresh failed.
 *
 * Runs in-process (`new SimulatedClaudeCli(...)`, e.g. ten of them in one test) or as a child process
 * (simulated-claude-cli-process.ts). Timing defaults are the real CLI's; tests may shorten the retry
 * waits. Nothing here prints or returns a token.
 */
import { mkdir, stat } from 'node:fs/promises';
import { ownIdentity, type ProcessIdentity } from './claude-cli-owner-record.js';
import { CLI_LOCK_TIMING, takeRefreshLocks, type LockProfile, type LockTiming, type TakeoverOutcome } from './simulated-claude-cli-locks.js';
import {
  credentialsPath,
  mutateDocument,
  readDocument,
  savedBy197,
  savedBy332,
  tokensOf,
  wiped,
  type CliTokens,
  type JsonObject,
  type RefreshAnswer,
} from './simulated-claude-cli-store.js';

export type ClaudeCliVersion = '2.1.197' | '2.1.332';

export const CLAUDE_CLI_CLIENT_ID = '9d1c250a-e61b-44d9-88ed-5944d1962f5e';
/** The refresh window: the CLI refreshes when `now + 5 min >= expiresAt`. */
export const REFRESH_WINDOW_MS = 300_000;

interface VersionProfile {
  readonly locks: LockProfile;
  readonly baseScopes: readonly string[];
  /** Stored scopes the CLI carries over into the scope it requests. */
  readonly keptScopes: readonly string[];
  /** After invalid_grant: 2.1.197 still sends the access token it had read; 2.1.332 fails the request. */
  readonly usesOldTokenAfterInvalidGrant: boolean;
  readonly casSave: boolean;
}

const BASE_SCOPES = ['user:profile', 'user:inference', 'user:sessions:claude_code', 'user:mcp_servers', 'user:file_upload'];
const PROFILES: Record<ClaudeCliVersion, VersionProfile> = {
  '2.1.197': {
    locks: { stale: 10_000, update: undefined, ownerRecord: false },
    baseScopes: BASE_SCOPES,
    keptScopes: ['user:design:read', 'user:design:write', 'user:projects:read', 'user:projects:write'],
    usesOldTokenAfterInvalidGrant: true,
    casSave: false,
  },
  '2.1.332': {
    locks: { stale: 60_000, update: 5000, ownerRecord: true },
    baseScopes: [...BASE_SCOPES, 'user:plugins'],
    keptScopes: ['user:projects:read', 'user:projects:write', 'user:privacy_consents:write'],
    usesOldTokenAfterInvalidGrant: false,
    casSave: true,
  },
};

export interface SimulatedClaudeCliOptions {
  readonly configDir: string;
  /** The token endpoint (the real CLI's is fixed; here it is the fake's). */
  readonly tokenUrl: string;
  readonly version?: ClaudeCliVersion;
  /** Optional Messages-API stand-in: POSTed with `Authorization: Bearer <token>`. */
  readonly apiUrl?: string;
  /** Who this CLI says it is in owner records; default: this process. */
  readonly identity?: ProcessIdentity;
  readonly timing?: Partial<LockTiming>;
  readonly refreshTimeoutMs?: number;
  readonly random?: () => number;
  /** This CLI's clock (default Date.now): a worker whose clock runs ahead judges expiry by it. Locks keep the kernel's. */
  readonly now?: () => number;
}

export type RefreshOutcome =
  | 'not_needed'
  | 'no_refresh_token'
  | 'known_dead_refresh_token'
  | 'race_resolved'
  | 'refreshed'
  | 'adopted_sibling'
  | 'invalid_grant'
  | 'race_recovered'
  | 'refresh_failed'
  | 'lock_busy'
  | 'lock_timeout'
  | 'lock_error';

export interface RequestOutcome {
  /** `api` = an API request was sent; `not_logged_in` = no usable token; `login_failed` = 2.1.332 after invalid_grant. */
  readonly result: 'api' | 'not_logged_in' | 'login_failed';
  readonly refresh: RefreshOutcome | undefined;
  /** The access token sent was already past its expiresAt. */
  readonly sentExpiredToken: boolean;
  /** HTTP status from `apiUrl`, when one was given and answered. */
  readonly apiStatus?: number;
}

export interface SimulatedClaudeCliCounts {
  requests: number;
  apiRequests: number;
  tokenRequests: number;
  refreshed: number;
  invalidGrant: number;
  wipes: number;
  refreshFailed: number;
  lockBusy: number;
  lockTimeout: number;
  raceResolved: number;
  takeovers: number;
  notLoggedIn: number;
  loginFailed: number;
  /** API requests sent with an access token past its expiresAt. */
  staleAccessTokenRequests: number;
  /** Refresh attempts answered invalid_grant: the refresh token had already been rotated (or revoked). */
  staleRefreshTokenAttempts: number;
  /** The sum of the two above. */
  staleTokenRequests: number;
}

export interface SimulatedClaudeCliReport {
  readonly version: ClaudeCliVersion;
  readonly counts: SimulatedClaudeCliCounts;
  /** Every takeover check's outcome (2.1.332), in order. */
  readonly takeoverOutcomes: readonly TakeoverOutcome[];
  readonly outcomes: readonly RequestOutcome[];
}

const emptyCounts = (): SimulatedClaudeCliCounts => ({
  requests: 0, apiRequests: 0, tokenRequests: 0, refreshed: 0, invalidGrant: 0, wipes: 0, refreshFailed: 0,
  lockBusy: 0, lockTimeout: 0, raceResolved: 0, takeovers: 0, notLoggedIn: 0, loginFailed: 0,
  staleAccessTokenRequests: 0, staleRefreshTokenAttempts: 0, staleTokenRequests: 0,
});

export const inRefreshWindow = (expiresAt: number | null | undefined, now = Date.now()): boolean =>
  expiresAt !== null && expiresAt !== undefined && now + REFRESH_WINDOW_MS >= expiresAt;

export class SimulatedClaudeCli {
  readonly version: ClaudeCliVersion;
  readonly counts = emptyCounts();
  readonly takeoverOutcomes: TakeoverOutcome[] = [];
  readonly outcomes: RequestOutcome[] = [];
  private readonly profile: VersionProfile;
  private readonly identity: ProcessIdentity;
  private readonly timing: LockTiming;
  private readonly random: () => number;
  private cached: JsonObject | undefined;
  private cachedMtimeMs: number | undefined;
  private readonly deadRefreshTokens = new Set<string>();

  constructor(private readonly options: SimulatedClaudeCliOptions) {
    this.version = options.version ?? '2.1.332';
    this.profile = PROFILES[this.version];
    this.identity = options.identity ?? ownIdentity();
    this.timing = { ...CLI_LOCK_TIMING, ...options.timing };
    this.random = options.random ?? Math.random;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  report(): SimulatedClaudeCliReport {
    return { version: this.version, counts: { ...this.counts }, takeoverOutcomes: [...this.takeoverOutcomes], outcomes: [...this.outcomes] };
  }

  /** One API request of the CLI, with the refresh it may do first. */
  async request(): Promise<RequestOutcome> {
    this.counts.requests += 1;
    await this.checkMtime();
    const entry = tokensOf(this.cached);
    const refresh = entry?.accessToken && inRefreshWindow(entry.expiresAt, this.now()) ? await this.refresh(entry.accessToken) : undefined;
    let sending: CliTokens | undefined = tokensOf(this.cached);
    if (refresh === 'invalid_grant' || refresh === 'known_dead_refresh_token') {
      if (!this.profile.usesOldTokenAfterInvalidGrant) return this.finish({ result: 'login_failed', refresh, sentExpiredToken: false });
      sending = entry;
    }
    if (!sending?.accessToken) return this.finish({ result: 'not_logged_in', refresh, sentExpiredToken: false });
    const sentExpiredToken = typeof sending.expiresAt === 'number' && sending.expiresAt <= this.now();
    const apiStatus = await this.sendApiRequest(sending.accessToken);
    return this.finish({ result: 'api', refresh, sentExpiredToken, ...(apiStatus === undefined ? {} : { apiStatus }) });
  }

  /** `count` requests, `intervalMs` apart, until done or `signal` aborts. */
  async run(count: number, intervalMs: number, signal?: AbortSignal): Promise<SimulatedClaudeCliReport> {
    const aborted = (): boolean => signal?.aborted === true;
    for (let index = 0; index < count && !aborted(); index += 1) {
      if (index > 0 && intervalMs > 0) await abortableSleep(intervalMs, signal);
      if (aborted()) break;
      await this.request();
    }
    return this.report();
  }

  private finish(outcome: RequestOutcome): RequestOutcome {
    if (outcome.result === 'api') this.counts.apiRequests += 1;
    if (outcome.result === 'not_logged_in') this.counts.notLoggedIn += 1;
    if (outcome.result === 'login_failed') this.counts.loginFailed += 1;
    if (outcome.sentExpiredToken) this.counts.staleAccessTokenRequests += 1;
    this.counts.staleTokenRequests = this.counts.staleAccessTokenRequests + this.counts.staleRefreshTokenAttempts;
    this.outcomes.push(outcome);
    return outcome;
  }

  private async checkMtime(): Promise<void> {
    const mtimeMs = await stat(credentialsPath(this.options.configDir)).then((s) => s.mtimeMs, () => undefined);
    if (mtimeMs === undefined || mtimeMs !== this.cachedMtimeMs) {
      this.cachedMtimeMs = mtimeMs;
      await this.reread();
    }
  }

  private async reread(): Promise<CliTokens | undefined> {
    this.cached = await readDocument(this.options.configDir);
    return tokensOf(this.cached);
  }

  private async refresh(entryAccessToken: string): Promise<RefreshOutcome> {
    const before = await this.reread();
    if (!before?.refreshToken) return 'no_refresh_token';
    if (this.deadRefreshTokens.has(before.refreshToken)) return 'known_dead_refresh_token';
    if (before.accessToken !== entryAccessToken) return this.raceResolved();
    if (!inRefreshWindow(before.expiresAt, this.now())) return 'not_needed';

    await mkdir(this.options.configDir, { recursive: true });
    let locked;
    try {
      locked = await takeRefreshLocks({ configDir: this.options.configDir, profile: this.profile.locks, timing: this.timing, identity: this.identity, random: this.random });
    } catch {
      return 'lock_error';
    }
    this.takeoverOutcomes.push(...locked.takeovers);
    this.counts.takeovers += locked.takeovers.filter((outcome) => outcome === 'taken_over').length;
    if ('failure' in locked) {
      if (locked.failure === 'lock_busy') this.counts.lockBusy += 1;
      else this.counts.lockTimeout += 1;
      return locked.failure;
    }
    try {
      return await this.refreshUnderLocks(entryAccessToken);
    } finally {
      await locked.held.release();
    }
  }

  private raceResolved(): RefreshOutcome {
    this.counts.raceResolved += 1;
    return 'race_resolved';
  }

  private async refreshUnderLocks(entryAccessToken: string): Promise<RefreshOutcome> {
    const tokens = await this.reread();
    if (!tokens?.refreshToken) return 'no_refresh_token';
    if (tokens.accessToken !== entryAccessToken) return this.raceResolved();
    if (!inRefreshWindow(tokens.expiresAt, this.now())) return 'not_needed';
    if (this.deadRefreshTokens.has(tokens.refreshToken)) return 'known_dead_refresh_token';
    const posted = tokens.refreshToken;
    const answer = await this.postRefresh(tokens);
    const configDir = this.options.configDir;
    if (answer.kind === 'ok') {
      this.counts.refreshed += 1;
      // Both versions skip saving an answer whose scope lacks user:inference (`xj` / `rV`).
      if (!answer.tokens.scopes.includes('user:inference')) return 'refreshed';
      const now = this.now();
      let adopted = false;
      await mutateDocument(configDir, (document) => {
        if (!this.profile.casSave) return savedBy197(document, answer.tokens);
        const next = savedBy332(document, answer.tokens, posted, now);
        adopted = next === document;
        return next;
      });
      await this.reread();
      return adopted ? 'adopted_sibling' : 'refreshed';
    }
    const after = await this.reread();
    if (after?.accessToken && after.accessToken !== entryAccessToken) return 'race_recovered';
    if (answer.kind === 'invalid_grant') {
      this.counts.invalidGrant += 1;
      this.counts.staleRefreshTokenAttempts += 1;
      this.deadRefreshTokens.add(posted);
      const reachedTimeLimit = answer.description === 'Refresh token expired';
      const didWipe = await mutateDocument(configDir, (document) => wiped(document, posted, this.profile.casSave, reachedTimeLimit));
      if (didWipe) this.counts.wipes += 1;
      await this.reread();
      return 'invalid_grant';
    }
    this.counts.refreshFailed += 1;
    return 'refresh_failed';
  }

  private requestedScope(tokens: CliTokens): string {
    const stored = Array.isArray(tokens.scopes) ? tokens.scopes : [];
    const usesDefaultClient = (stored.includes('user:inference') || Boolean(tokens.subscriptionType)) && !tokens.clientId;
    if (!usesDefaultClient) return stored.join(' ');
    const kept = stored.filter((scope) => this.profile.keptScopes.includes(scope));
    return [...new Set([...this.profile.baseScopes, ...kept])].join(' ');
  }

  private async postRefresh(
    tokens: CliTokens,
  ): Promise<{ kind: 'ok'; tokens: RefreshAnswer } | { kind: 'invalid_grant'; description: unknown } | { kind: 'failed' }> {
    this.counts.tokenRequests += 1;
    try {
      const response = await fetch(this.options.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/plain, */*', 'user-agent': 'axios/1.15.2' },
        body: JSON.stringify({
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
          client_id: tokens.clientId ?? CLAUDE_CLI_CLIENT_ID,
          scope: this.requestedScope(tokens),
        }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.refreshTimeoutMs ?? 30_000),
      });
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (response.status === 200 && typeof body.access_token === 'string' && typeof body.expires_in === 'number') {
        const scopes = typeof body.scope === 'string' ? body.scope.split(' ').filter((s) => s !== '') : [];
        return {
          kind: 'ok',
          tokens: {
            accessToken: body.access_token,
            refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : (tokens.refreshToken ?? ''),
            expiresAt: this.now() + body.expires_in * 1000,
            refreshTokenExpiresAt:
              this.version === '2.1.332' && typeof body.refresh_token_expires_in === 'number'
                ? this.now() + body.refresh_token_expires_in * 1000
                : undefined,
            scopes,
            clientId: tokens.clientId,
          },
        };
      }
      if ((response.status === 400 || response.status === 401) && body.error === 'invalid_grant') {
        return { kind: 'invalid_grant', description: body.error_description };
      }
      return { kind: 'failed' };
    } catch {
      return { kind: 'failed' };
    }
  }

  private async sendApiRequest(accessToken: string): Promise<number | undefined> {
    if (this.options.apiUrl === undefined) return undefined;
    try {
      const response = await fetch(this.options.apiUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', 'user-agent': `claude-cli/${this.version} (external, sdk-cli)` },
        body: '{}',
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.status;
    } catch {
      return undefined;
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
