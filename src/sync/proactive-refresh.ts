/**
 * The fleet's one refresh per expiry (`--refresh-before`). Every sidecar runs this; the store decides who
 * refreshes:
 *
 * 1. At `expiresAt - before - 30s` every sidecar takes the refresh token out of its worker's copy (a full
 *    copy becomes access-only until the new login arrives), so no worker can present a token the refresher
 *    is about to rotate.
 * 2. At `expiresAt - before + jitter` each sidecar reads the store: a newer login there is pulled; a live
 *    lease of another sidecar is waited for (re-read about every second, pulled as soon as it lands);
 *    otherwise it claims the lease by compare-and-swap (on a store without one: claims, waits, re-reads).
 * 3. The winner refreshes holding its worker's CLI locks (the CLI waits on them and then finds the new
 *    login), writes the new login to its worker's file first, then publishes it as the next generation.
 * 4. If the token endpoint refuses us, or no refresh has landed 30 s before the CLI's own window, the lease
 *    holder gives its own worker the refresh token back: that one CLI refreshes in its window, its sidecar
 *    pushes the result and everyone pulls it. One CLI refreshes instead of the fleet logging out.
 *
 * Leases are judged by the reader's own clock from when it first saw them, so a writer whose clock is off
 * cannot hold the fleet up.
 */
import { parseCredentials, type Credentials } from '../core/credentials.js';
import { ConflictError, InvalidGrantError, OAuthResponseError, describeCause } from '../core/errors.js';
import { LEASE_KEY, localCopyText, readLease, type RefreshLease } from '../core/merge.js';
import { fallbackAt, refreshDueAt, zoneStartsAt } from '../core/refresh-plan.js';
import { withRetry } from '../core/retry.js';
import { withClaudeLocks } from '../io/claude-lock.js';
import { applyRefreshedTokens, requestScopeFor } from '../oauth/refresh-client.js';
import { iso, type ProactiveRefresh, type SyncEngine } from './sync-engine.js';
import { resolveConflict } from '../store/resolve-conflict.js';
import { writeStoreText, type StoreView } from './store-view.js';
import { credentialsOf, documentOf, isFullCopy } from './worker-file.js';
import { isRefreshOf } from '../core/freshness.js';

/** A lease whose holder's clock says it ended this long ago is over, whatever we saw of it. */
const LEASE_CLOCK_TOLERANCE_MS = 5 * 60_000;

type Timer = NodeJS.Timeout | undefined;

export class ProactiveRefresher {
  private due: Timer;
  private zone: Timer;
  private fallbackTimer: Timer;
  private retry: Timer;
  private scheduledFor: string | undefined;
  private readonly leaseSeen = new Map<string, number>();
  /** The endpoint refused our refresh of this login (its access token's expiry): fall back to the CLI for it. */
  private refusedFor: number | undefined;

  constructor(
    private readonly engine: SyncEngine,
    private readonly refresh: ProactiveRefresh,
  ) {}

  /** (Re)arms the timers for the store's current login; a no-op when they are armed for it already. */
  schedule(): void {
    const store = this.engine.known;
    if (store.kind !== 'valid' || this.engine.stopping) return;
    const key = `${store.version ?? ''}|${store.meta.generation}|${store.credentials.oauth.expiresAt}`;
    if (key === this.scheduledFor) return;
    this.scheduledFor = key;
    this.clearTimers();
    const expiry = this.engine.localExpiry(store.credentials);
    const now = this.engine.now();
    this.due = this.at(refreshDueAt(expiry, this.refresh, Math.random()) - now, () => this.attempt());
    if (!this.engine.settings.accessOnly) this.zone = this.at(zoneStartsAt(expiry, this.refresh) - now, () => this.engine.reconcile('refresh zone', { failHard: false }));
    this.fallbackTimer = this.at(fallbackAt(expiry) - now, () => this.checkFallback(expiry));
  }

  cancel(): void {
    this.clearTimers();
    this.scheduledFor = undefined;
  }

  private clearTimers(): void {
    for (const timer of [this.due, this.zone, this.fallbackTimer, this.retry]) if (timer) clearTimeout(timer);
    this.due = this.zone = this.fallbackTimer = this.retry = undefined;
  }

  private at(delayMs: number, task: () => Promise<void>): NodeJS.Timeout {
    return setTimeout(() => void this.engine.enqueue(task), Math.min(Math.max(0, delayMs), 2 ** 31 - 1));
  }

  private retryIn(delayMs: number): void {
    if (this.retry) clearTimeout(this.retry);
    if (!this.engine.stopping) this.retry = this.at(delayMs, () => this.attempt());
  }

  /** A lease of another sidecar that still holds, by our clock since we first saw it (and roughly by its own). */
  private leaseHolds(lease: RefreshLease | undefined): boolean {
    if (lease === undefined || lease.holder === this.engine.settings.holderId) return false;
    const now = this.engine.now();
    const key = `${lease.holder}|${lease.until}`;
    const seen = this.leaseSeen.get(key) ?? now;
    this.leaseSeen.set(key, seen);
    if (this.leaseSeen.size > 32) this.leaseSeen.delete(this.leaseSeen.keys().next().value as string);
    const fleetNow = now - this.engine.clock.leadMs;
    if (lease.until < fleetNow - LEASE_CLOCK_TOLERANCE_MS) return false;
    const span = lease.until - fleetNow <= LEASE_CLOCK_TOLERANCE_MS * 3 ? Math.max(this.refresh.leaseMs, lease.until - fleetNow) : this.refresh.leaseMs;
    return now - seen < span;
  }

  /** One pass of the procedure in the file comment, steps 2 and 3. */
  private async attempt(): Promise<void> {
    const { engine } = this;
    try {
      const store = await engine.readStore();
      if (store.kind !== 'valid') return this.retryIn(Math.min(engine.settings.pullIntervalMs, 30_000));
      const now = engine.now();
      const expiry = engine.localExpiry(store.credentials);
      if (engine.delivered?.unpushed !== undefined) {
        // Our own refresh is not in the store yet: publish it; never refresh the rotated-away login again.
        await engine.push(engine.delivered.unpushed, 'proactive refresh');
        return;
      }
      if (expiry - now > this.refresh.beforeMs || this.refusedFor === store.credentials.oauth.expiresAt) {
        await engine.settle(await engine.file.read(), store, 'the store holds a newer login');
        return;
      }
      if (this.leaseHolds(readLease(store.credentials))) {
        // Another sidecar refreshes: keep our worker's copy without its refresh token and look again shortly.
        await engine.settle(await engine.file.read(), store, 'another sidecar is refreshing');
        return this.retryIn(700 + Math.random() * 600);
      }
      const claimed = await this.claimLease(store);
      if (claimed === undefined) return this.retryIn(200 + Math.random() * 800);
      await this.refreshAndPublish(store.credentials, claimed, store.meta.generation);
    } catch (error) {
      engine.journal.fail('refresh', describeCause(error));
      engine.context.logger.warn({ reason: describeCause(error) }, 'proactive refresh failed; will try again');
      this.retryIn(Math.min(engine.settings.pullIntervalMs, 15_000));
    }
  }

  /** Claims the lease by compare-and-swap (on a store without one: claim, wait, re-read); the claim's version, or undefined. */
  private async claimLease(store: Extract<StoreView, { kind: 'valid' }>, kind?: 'fallback'): Promise<string | undefined> {
    const { engine } = this;
    const fleetNow = engine.now() - engine.clock.leadMs;
    const until = kind === 'fallback' ? store.credentials.oauth.expiresAt + 60_000 : fleetNow + this.refresh.leaseMs;
    const text = JSON.stringify({ ...store.credentials.document, [LEASE_KEY]: { holder: engine.settings.holderId, until, ...(kind === undefined ? {} : { kind }) } });
    let version: string | undefined;
    try {
      engine.journal.counters.storeCalls += 1;
      version = (await writeStoreText(engine.provider, text, store.version, engine.context, { signal: engine.abort.signal })).version;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      engine.journal.counters.conflicts += 1;
      // On a store without compare-and-swap the claim may have landed on top of a fresher login.
      await resolveConflict(engine.provider, store.version, engine.context);
      return undefined;
    }
    if (engine.provider.writes === 'detect-conflict') {
      // Without a true compare-and-swap two claims can both land; the one still on top after a pause wins.
      await new Promise((resolve) => setTimeout(resolve, engine.settings.leaseSettleMs));
      const settled = await engine.readStore();
      if (settled.kind !== 'valid' || settled.version !== version || readLease(settled.credentials)?.holder !== engine.settings.holderId) return undefined;
    }
    engine.known = { kind: 'valid', version, credentials: parseCredentials(text), meta: store.meta };
    return version;
  }

  /** Step 3: refresh under the worker's CLI locks, the new login locally first, then in the store. */
  private async refreshAndPublish(login: Credentials, claimVersion: string | undefined, generation: number): Promise<void> {
    const { engine } = this;
    const { logger } = engine.context;
    let cliRefreshed: Credentials | undefined;
    let written: Credentials | undefined;
    try {
      await withClaudeLocks(
        engine.file.configDir,
        async () => {
          const local = await engine.file.read();
          if (isFullCopy(local) && engine.delivered !== undefined && isRefreshOf(local.credentials, engine.delivered.credentials)) {
            cliRefreshed = local.credentials;
            return;
          }
          logger.info({ expiresAt: iso(login.oauth.expiresAt) }, 'refreshing the login for all workers');
          const request = requestScopeFor({ clientId: (login.document.claudeAiOauth as Record<string, unknown>).clientId, scopes: login.oauth.scopes }, this.refresh.oauth);
          const tokens = await withRetry(
            'refreshing the OAuth login',
            (attempt) => this.refresh.refresh(login.oauth.refreshToken, { signal: attempt.signal, timeoutMs: attempt.timeoutMs, ...request, now: () => engine.now() - engine.clock.leadMs }),
            { ...engine.context.retry, deadlineMs: Math.max(1000, this.refresh.leaseMs / 2) },
            { signal: engine.abort.signal, onRetry: ({ delayMs, error }) => logger.warn({ delayMs, reason: error.message }, 'the token endpoint failed; retrying') },
          );
          const refreshed = parseCredentials(applyRefreshedTokens(login.text, tokens));
          // The new tokens reach the worker's disk before anything else can fail: a crash now loses nothing.
          const result = await engine.file.update((current) =>
            localCopyText(refreshed, { document: documentOf(current), credentials: credentialsOf(current) }, { accessOnly: engine.settings.accessOnly, clockOffsetMs: engine.clock.leadMs }),
          );
          written = credentialsOf(result.view);
          if (written !== undefined) {
            const full = engine.settings.accessOnly ? this.fullLogin(written, refreshed.oauth.refreshToken) : written;
            engine.delivered = { credentials: written, generation, storeRefreshToken: refreshed.oauth.refreshToken, stripped: engine.settings.accessOnly, unpushed: full };
          }
        },
        { signal: engine.abort.signal },
      );
    } catch (error) {
      return this.refreshFailed(error, login);
    }
    if (cliRefreshed !== undefined) return engine.push(cliRefreshed, 'the Claude CLI refreshed');
    engine.journal.counters.refreshes += 1;
    engine.journal.record('refresh', true, `refreshed; the new token expires ${iso(written?.oauth.expiresAt ?? 0)}`);
    engine.fallback = false;
    const pending = engine.delivered?.unpushed;
    // An access-only copy cannot be pushed as it is: the full login is published (the worker keeps its copy).
    if (pending !== undefined) await engine.push(pending, 'proactive refresh');
    void claimVersion;
  }

  private fullLogin(copy: Credentials, refreshToken: string): Credentials {
    const document = { ...copy.document, claudeAiOauth: { ...(copy.document.claudeAiOauth as Record<string, unknown>), refreshToken } };
    return parseCredentials(JSON.stringify(document));
  }

  private async refreshFailed(error: unknown, login: Credentials): Promise<void> {
    const { engine } = this;
    const { logger } = engine.context;
    engine.journal.fail('refresh', describeCause(error));
    if (error instanceof InvalidGrantError) {
      logger.warn('the refresh token was already used (another party refreshed); reading the store again');
      const latest = await engine.readStore();
      if (latest.kind === 'valid' && latest.credentials.oauth.refreshToken !== login.oauth.refreshToken) await engine.settle(await engine.file.read(), latest, 'refresh lost the race');
      return;
    }
    if (error instanceof OAuthResponseError) {
      // The endpoint refuses claude-creds itself: this login's refresh is left to one Claude CLI.
      this.refusedFor = login.oauth.expiresAt;
      logger.warn({ reason: describeCause(error) }, 'the token endpoint refused the refresh; falling back to the Claude CLI\'s own refresh for this login');
      return this.checkFallback(this.engine.localExpiry(login));
    }
    logger.warn({ reason: describeCause(error) }, 'proactive refresh failed; will try again');
    this.retryIn(Math.min(engine.settings.pullIntervalMs, 15_000));
  }

  /** Step 4: nothing refreshed by now: one sidecar (the fallback lease's holder) lets its own CLI refresh. */
  private async checkFallback(expiry: number): Promise<void> {
    const { engine } = this;
    if (engine.settings.accessOnly) {
      engine.context.logger.error('no proactive refresh landed and access-only worker copies cannot refresh by themselves; the workers will lose the login when the token expires');
      return;
    }
    try {
      if (engine.known.kind === 'valid' && engine.localExpiry(engine.known.credentials) > expiry) return;
      const store = await engine.readStore();
      if (store.kind !== 'valid' || engine.localExpiry(store.credentials) > expiry) return;
      const lease = readLease(store.credentials);
      if (this.leaseHolds(lease)) return this.fallbackRetry(expiry);
      if (lease?.holder !== engine.settings.holderId || (store.credentials.document[LEASE_KEY] as { kind?: unknown } | undefined)?.kind !== 'fallback') {
        if ((await this.claimLease(store, 'fallback')) === undefined) return this.fallbackRetry(expiry);
      }
      engine.fallback = true;
      engine.context.logger.warn({ expiresAt: iso(expiry) }, 'no refresh for the fleet yet: this worker\'s Claude CLI gets the refresh token back and refreshes by itself');
      await engine.settle(await engine.file.read(), engine.known, 'fallback to the CLI\'s own refresh');
    } catch (error) {
      engine.context.logger.warn({ reason: describeCause(error) }, 'fallback check failed; will try again');
      this.fallbackRetry(expiry);
    }
  }

  private fallbackRetry(expiry: number): void {
    if (this.engine.stopping) return;
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    this.fallbackTimer = this.at(1000 + Math.random() * 1000, () => this.checkFallback(expiry));
  }
}
