/**
 * Keeps one worker's credentials file and one store in step: pushes the logins the Claude CLI refreshed,
 * pulls the ones other workers (or the fleet's refresher) pushed, and, when asked, takes part in the one
 * refresh the whole fleet needs per expiry (see proactive-refresh.ts). Every action goes through one queue,
 * so a sidecar never races itself; every local write holds the CLI's locks and re-reads under them, so it
 * never races the CLI; races with other sidecars are settled by the store's compare-and-swap and store
 * order (core/freshness.ts).
 */
import { resolveConflict } from '../store/resolve-conflict.js';
import type { Owner } from '../core/config.js';
import type { CommandContext } from '../core/context.js';
import { ClockOffset } from '../core/clock-offset.js';
import type { Credentials } from '../core/credentials.js';
import { parseCredentials } from '../core/credentials.js';
import { ConflictError, NotFoundError, describeCause } from '../core/errors.js';
import { compareLogins, isFromClockAhead, isRefreshOf } from '../core/freshness.js';
import { decideSync, localCopyText, storeCopyText } from '../core/merge.js';
import type { Provider } from '../core/provider.js';
import { inCliWindow, inRefreshZone } from '../core/refresh-plan.js';
import type { SyncStatus } from '../core/sync-status.js';
import { withClaudeLocks } from '../io/claude-lock.js';
import { watchFile, type FileWatcher } from '../io/file-watcher.js';
import type { OAuthSettings, RefreshedTokens } from '../oauth/refresh-client.js';
import { EngineJournal, REJECTED_ERROR_AFTER_MS } from './engine-journal.js';
import { ProactiveRefresher } from './proactive-refresh.js';
import { buildStatus } from './engine-status.js';
import { generationOf, readStoreView, writeStoreText, type StoreCallOptions, type StoreView } from './store-view.js';
import { WorkerFile, credentialsOf, documentOf, isFullCopy, type LocalView } from './worker-file.js';

export interface ProactiveRefresh {
  /** Refresh when less than this is left before expiry. */
  readonly beforeMs: number;
  /** Each sidecar waits a random part of this past the refresh time, so they do not all try at once. */
  readonly jitterMs: number;
  /** How long a claimed refresh lease holds off the others. */
  readonly leaseMs: number;
  readonly oauth: OAuthSettings;
  readonly refresh: (
    refreshToken: string,
    options: { signal: AbortSignal; timeoutMs: number; clientId?: string; scope?: string; now?: () => number },
  ) => Promise<RefreshedTokens>;
}

export interface SyncSettings {
  readonly localPath: string;
  readonly pullIntervalMs: number;
  readonly debounceMs: number;
  /** Fallback stat poll of the local file (NFS); 0 = off. */
  readonly pollIntervalMs: number;
  readonly accessOnly: boolean;
  readonly owner: Owner | undefined;
  /** Log a warning when the local token has less than each of these left. */
  readonly warnBeforeMs: readonly number[];
  /** Log a warning when the login itself (the refresh token's 30 days) has less than each of these left. */
  readonly loginWarnBeforeMs?: readonly number[];
  readonly refresh: ProactiveRefresh | undefined;
  /** Identifies this sidecar in refresh leases and store bookkeeping. */
  readonly holderId: string;
  /** Time to wait after claiming a lease on a store without compare-and-swap before trusting the claim. */
  readonly leaseSettleMs: number;
}

/** What the local file holds as far as this engine knows: the login it last wrote there or pushed from there. */
export interface Delivered {
  /** The login as the local file holds it (local clock; maybe without its refresh token). */
  readonly credentials: Credentials;
  /** The store generation it came from (or became). */
  readonly generation: number;
  /** The refresh token of that login in the store (the local copy may not carry it). */
  readonly storeRefreshToken: string;
  /** The copy lacks its refresh token on purpose (access-only, or around the fleet's refresh). */
  readonly stripped: boolean;
  /**
   * A login this sidecar refreshed and wrote locally that the store does not have yet (the push failed or
   * is under way): it holds the only live refresh token, so it is pushed, never pulled over.
   */
  readonly unpushed?: Credentials;
}

const MAX_CONFLICT_ROUNDS = 8;
export const DEFAULT_LOGIN_WARN_BEFORE_MS = [7 * 86_400_000, 3 * 86_400_000, 86_400_000];

export class SyncEngine {
  readonly file: WorkerFile;
  readonly journal: EngineJournal;
  readonly clock = new ClockOffset();
  known: StoreView = { kind: 'missing' };
  delivered: Delivered | undefined;
  /** The refresh token of a login the CLI rejected (wiped its file): never written back until the store has another. */
  rejected: { readonly refreshToken: string; readonly since: number; errorLogged: boolean } | undefined;
  /** This sidecar gave its worker the refresh token back inside the zone, so the worker's own CLI refreshes. */
  fallback = false;
  private localView: LocalView = { kind: 'missing' };
  private firstSeen = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FileWatcher | undefined;
  private pullTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly abort = new AbortController();
  private readonly refresher: ProactiveRefresher | undefined;
  private readonly startedAt: number;

  constructor(
    readonly provider: Provider,
    readonly settings: SyncSettings,
    readonly context: CommandContext,
  ) {
    this.startedAt = context.now();
    this.file = new WorkerFile(settings.localPath, settings.owner);
    this.journal = new EngineJournal(context);
    this.refresher = settings.refresh === undefined ? undefined : new ProactiveRefresher(this, settings.refresh);
  }

  get stopping(): boolean {
    return this.stopped;
  }

  /** The first reconcile (a fetch, or a push of what a restarted sidecar's file has that the store lacks), then watch. */
  async start(): Promise<void> {
    await this.enqueue(() => this.reconcile('start', { failHard: true }));
    this.watcher = await watchFile(this.settings.localPath, {
      debounceMs: this.settings.debounceMs,
      pollIntervalMs: this.settings.pollIntervalMs,
      onChange: () => void this.enqueue(() => this.reconcile('local file changed', { failHard: false })),
      onError: (error) => this.context.logger.warn({ reason: error.message }, 'file watch failed; relying on the stat poll'),
    });
    this.schedulePull();
    this.refresher?.schedule();
  }

  /** Stop timers, cut short whatever is in flight, then push anything newer in the local file: all within `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    if (this.pullTimer) clearTimeout(this.pullTimer);
    this.refresher?.cancel();
    const started = this.context.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.context.logger.warn({ timeout: timeoutMs }, 'shutdown flush did not finish in time');
        resolve();
      }, timeoutMs);
    });
    // Whatever runs now (a pull retrying against a store that is down) ends at once; the flush has its own bound.
    const inFlight = this.queue;
    this.abort.abort();
    const flush = inFlight.then(() => this.flush(Math.max(500, timeoutMs - (this.context.now() - started) - 250)));
    await Promise.race([flush.catch(() => undefined), timeout]);
    clearTimeout(timer);
    await this.provider.close?.().catch(() => undefined);
  }

  status(): SyncStatus {
    return buildStatus(this, this.localView, this.startedAt);
  }

  /** Runs one pull now (tests and the benchmark use it; the timer uses it too). */
  pullNow(): Promise<void> {
    return this.enqueue(() => this.reconcile('pull', { failHard: false }));
  }

  /** Resolves when everything queued so far has run. */
  idle(): Promise<void> {
    return this.enqueueAlways(async () => undefined);
  }

  enqueue(task: () => Promise<void>): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.enqueueAlways(task);
  }

  private enqueueAlways(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  now(): number {
    return this.context.now();
  }

  /** The local clock's expiry of a store login (store documents are in the fleet's clock). */
  localExpiry(credentials: Credentials): number {
    return credentials.oauth.expiresAt + this.clock.leadMs;
  }

  /** Full worker copies lose their refresh token around the fleet's refresh (see core/refresh-plan.ts). */
  shouldStrip(store: Credentials): boolean {
    if (this.settings.accessOnly) return true;
    const refresh = this.settings.refresh;
    if (refresh === undefined || this.fallback) return false;
    return inRefreshZone(this.localExpiry(store), refresh, this.now());
  }

  // --- the store --------------------------------------------------------------------------------

  async readStore(options: StoreCallOptions = {}): Promise<StoreView> {
    this.journal.counters.storeCalls += 1;
    const view = await readStoreView(this.provider, this.context, { signal: this.abort.signal, ...options });
    this.observe(view);
    this.known = view;
    return view;
  }

  private observe(view: StoreView): void {
    if (view.kind === 'invalid') {
      this.journal.fail('invalid-store', `the store holds invalid credentials: ${view.reason}`);
      this.journal.warnOnce(`invalid-store:${view.version ?? ''}`, { location: this.provider.location, reason: view.reason }, 'the store holds an invalid credentials document; it will be replaced by the newest valid login');
      return;
    }
    if (view.kind !== 'valid') return;
    const key = view.version ?? `gen:${view.meta.generation}`;
    if (!this.firstSeen.has(key)) {
      this.firstSeen.set(key, this.now());
      if (this.firstSeen.size > 64) this.firstSeen.delete(this.firstSeen.keys().next().value as string);
      if (view.meta.writtenAt !== undefined && view.meta.writer !== this.settings.holderId) this.clock.observe(this.now() - view.meta.writtenAt);
    }
    if (this.rejected !== undefined && view.credentials.oauth.refreshToken !== this.rejected.refreshToken) this.rejected = undefined;
    const previous = this.known.kind === 'valid' ? this.known.credentials.oauth.refreshToken : undefined;
    if (previous !== undefined && previous !== view.credentials.oauth.refreshToken) this.fallback = false;
    this.refresher?.schedule();
  }

  /**
   * Push `local` (a login of this worker's) over the store by compare-and-swap, as the next generation; on a
   * conflict re-read: a newer login there wins (pulled), the same tokens there mean done, anything else is
   * pushed over (only this worker's CLI could have refreshed what it was given).
   */
  async push(local: Credentials, trigger: string, options: StoreCallOptions = {}): Promise<void> {
    let store = this.known;
    // The generation this login descends from: what the local file was given (or the store's, at first sight).
    const base = this.delivered?.generation ?? generationOf(store);
    for (let round = 1; round <= MAX_CONFLICT_ROUNDS; round += 1) {
      const storeLogin = store.kind === 'valid' ? store.credentials : undefined;
      if (storeLogin !== undefined && storeLogin.oauth.refreshToken === local.oauth.refreshToken) return;
      if (store.kind === 'valid' && !this.mayPushOver(local, store, base)) {
        await this.pull(store, `${trigger}: the store holds a newer login`);
        return;
      }
      const generation = generationOf(store) + 1;
      const meta = { generation, writtenAt: this.now() - this.clock.leadMs, writer: this.settings.holderId, parent: base };
      const text = storeCopyText(local, storeLogin, meta, { clockOffsetMs: this.clock.leadMs });
      try {
        this.journal.counters.storeCalls += 1;
        const outcome = await writeStoreText(this.provider, text, store.kind === 'missing' ? undefined : store.version, this.context, { signal: this.abort.signal, ...options });
        const stored = parseCredentials(text);
        this.known = { kind: 'valid', version: outcome.version, credentials: stored, meta };
        const pending = this.delivered?.unpushed === local ? this.delivered : undefined;
        this.delivered =
          pending === undefined
            ? { credentials: local, generation, storeRefreshToken: local.oauth.refreshToken, stripped: false }
            : { credentials: pending.credentials, generation, storeRefreshToken: local.oauth.refreshToken, stripped: pending.stripped };
        this.journal.counters.pushes += 1;
        this.journal.record('push', true, `pushed credentials expiring ${iso(stored.oauth.expiresAt)} (${trigger})`);
        this.context.logger.info({ version: outcome.version, generation, expiresAt: iso(stored.oauth.expiresAt), trigger }, 'pushed newer credentials to the store');
        this.refresher?.schedule();
        return;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        this.journal.counters.conflicts += 1;
        this.context.logger.info({ round }, 'another writer changed the store; re-reading');
        // Without compare-and-swap our write may have buried a fresher login, or landed below one.
        await resolveConflict(this.provider, store.kind === 'missing' ? undefined : store.version, this.context);
        store = await this.readStore(options);
      }
    }
    throw new ConflictError(`the store kept changing during ${MAX_CONFLICT_ROUNDS} push attempts; will try again`);
  }

  /**
   * May `local`, a refresh of the store's generation `base`, replace what the store holds now? Yes over the
   * same generation (a lease claim, or nothing new); past it, when ours expires later; never over a newer
   * login.
   */
  mayPushOver(local: Credentials, store: Extract<StoreView, { kind: 'valid' }>, base: number): boolean {
    const order = compareLogins(store.credentials, local);
    if (order === 'newer') return false;
    if (compareLogins(local, store.credentials) === 'newer') return true;
    // At or below our base generation: nothing new (a lease claim). A document without one was written by
    // another tool: store order cannot tell, the expiries do.
    if (store.meta.generation > 0 && store.meta.generation <= base) return true;
    // The store moved on along another branch (a sibling refresh, possible only where the token endpoint
    // accepts a refresh token twice): both logins may be live, and the later expiry (in this clock) wins.
    return local.oauth.expiresAt > this.localExpiry(store.credentials) && !isFromClockAhead(local, this.now());
  }

  // --- the local file ---------------------------------------------------------------------------

  /**
   * Writes the store's login `store` (generation `generation`) into the local file under the CLI's locks.
   * Under the locks the file is read again: a login the CLI refreshed meanwhile is pushed instead of
   * being overwritten. Returns whether the file was written.
   */
  async pull(view: Extract<StoreView, { kind: 'valid' }>, trigger: string): Promise<boolean> {
    const store = view.credentials;
    const generation = view.meta.generation;
    if (this.rejected !== undefined && store.oauth.refreshToken === this.rejected.refreshToken) return false;
    let refreshedMeanwhile: Credentials | undefined;
    await this.file.prepareDirectory();
    const written = await withClaudeLocks(
      this.file.configDir,
      async () => {
        const result = await this.file.update((current) => {
          const currentLogin = credentialsOf(current);
          if (isFullCopy(current) && this.delivered !== undefined && isRefreshOf(current.credentials, this.delivered.credentials) && this.mayPushOver(current.credentials, view, this.delivered.generation)) {
            refreshedMeanwhile = current.credentials;
            return undefined;
          }
          const strip = this.shouldStrip(store);
          const text = localCopyText(store, { document: documentOf(current), credentials: currentLogin }, { accessOnly: strip, clockOffsetMs: this.clock.leadMs });
          if (currentLogin !== undefined && text === currentLogin.text) {
            this.delivered = { credentials: currentLogin, generation, storeRefreshToken: store.oauth.refreshToken, stripped: strip };
            return undefined;
          }
          return text;
        });
        this.localView = result.view;
        if (result.written && result.view.kind === 'valid') {
          const strip = result.view.credentials.oauth.refreshToken === '';
          this.delivered = { credentials: result.view.credentials, generation, storeRefreshToken: store.oauth.refreshToken, stripped: strip };
        }
        return result.written;
      },
      { signal: this.abort.signal },
    );
    if (refreshedMeanwhile !== undefined) {
      await this.push(refreshedMeanwhile, 'the Claude CLI refreshed');
      return false;
    }
    if (written && this.delivered !== undefined) {
      this.journal.counters.pulls += 1;
      this.journal.record('pull', true, `pulled credentials expiring ${iso(store.oauth.expiresAt)} (${trigger})`);
      this.context.logger.info({ generation, expiresAt: iso(store.oauth.expiresAt), copy: this.delivered.stripped ? 'access-only' : 'full', trigger }, 'wrote the store\'s credentials to the local file');
    }
    return written;
  }

  // --- deciding ---------------------------------------------------------------------------------

  async reconcile(trigger: string, { failHard }: { failHard: boolean }): Promise<void> {
    try {
      const local = await this.file.read();
      this.localView = local;
      const store = await this.readStore();
      await this.settle(local, store, trigger);
      if (failHard && store.kind !== 'valid' && !isFullCopy(this.localView)) {
        throw new NotFoundError(`no valid credentials in ${this.provider.location} nor in ${this.settings.localPath}; run \`claude-creds push\` after \`claude login\``);
      }
      this.afterSettle();
      if (trigger === 'pull') this.journal.record('pull', true, 'in sync');
    } catch (error) {
      this.journal.fail(trigger === 'start' ? 'pull' : trigger === 'local file changed' ? 'push' : trigger, describeCause(error));
      if (failHard) throw error;
      this.context.logger.warn({ trigger, reason: describeCause(error) }, 'sync failed; will try again');
    }
  }

  /** One decision on what the file and the store hold now, and its action (see core/freshness.ts). */
  async settle(local: LocalView, store: StoreView, trigger: string): Promise<void> {
    if (store.kind !== 'valid') {
      // Nothing in the store, or a document that is no login at all: the worker's own full login replaces it.
      if (isFullCopy(local)) await this.push(local.credentials, store.kind === 'invalid' ? `${trigger}: replacing an invalid store document` : trigger);
      return;
    }
    const storeLogin = store.credentials;
    const generation = store.meta.generation;
    if (local.kind === 'invalid') {
      if (local.wiped && this.holdsStoreLogin(storeLogin)) return this.noteRejected(storeLogin);
      await this.pull(store, `${trigger}: the local file is ${local.wiped ? 'wiped' : 'invalid'}`);
      return;
    }
    if (local.kind === 'missing') {
      await this.pull(store, trigger);
      return;
    }
    const login = local.credentials;
    const delivered = this.delivered;
    if (delivered?.unpushed !== undefined && login.oauth.accessToken === delivered.credentials.oauth.accessToken) {
      // Our own refresh, not in the store yet: the store's login is the one we rotated away.
      if (storeLogin.oauth.refreshToken !== delivered.unpushed.oauth.refreshToken) await this.push(delivered.unpushed, 'proactive refresh');
      return;
    }
    if (login.oauth.accessToken === storeLogin.oauth.accessToken && !this.needsCopyChange(login, storeLogin)) {
      this.delivered ??= { credentials: login, generation, storeRefreshToken: storeLogin.oauth.refreshToken, stripped: login.oauth.refreshToken === '' };
      return;
    }
    if (delivered !== undefined && isFullCopy(local) && isRefreshOf(login, delivered.credentials)) {
      // The CLI refreshed what it was given: the live refresh token is in the local file now.
      if (this.mayPushOver(login, store, delivered.generation)) await this.push(login, 'the Claude CLI refreshed');
      else await this.pull(store, `${trigger}: the store moved on`);
      return;
    }
    if (delivered !== undefined && login.oauth.accessToken === delivered.credentials.oauth.accessToken) {
      // Still what we delivered: the store is ahead of it, or the copy's form must change (refresh token in or out).
      await this.pull(store, trigger);
      return;
    }
    // No provenance (a file this engine did not write): store order cannot decide, the login ends and clocks do.
    const storeAsLocal = { ...storeLogin, oauth: { ...storeLogin.oauth, expiresAt: this.localExpiry(storeLogin) } };
    const direction = decideSync(local, { kind: 'valid', credentials: storeAsLocal }, this.now());
    if (direction === 'push') await this.push(login, `${trigger}: the local file is newer`);
    else await this.pull(store, trigger);
  }

  /** Whether the copy of the same login should now carry its refresh token or not (zone entered or left). */
  private needsCopyChange(login: Credentials, store: Credentials): boolean {
    const hasRefresh = login.oauth.refreshToken !== '';
    return hasRefresh === this.shouldStrip(store);
  }

  /** The local file was last given the store's current login (so a wipe means the CLI rejected it). */
  private holdsStoreLogin(store: Credentials): boolean {
    return this.delivered !== undefined && this.delivered.storeRefreshToken === store.oauth.refreshToken;
  }

  private noteRejected(store: Credentials): void {
    if (this.rejected?.refreshToken === store.oauth.refreshToken) return this.escalateRejected();
    this.rejected = { refreshToken: store.oauth.refreshToken, since: this.now(), errorLogged: false };
    this.journal.fail('rejected', 'the Claude CLI rejected the login the store holds');
    this.context.logger.warn(
      { location: this.provider.location, errorAfter: '2m' },
      'the Claude CLI rejected the login from the store (its refresh token is dead); not writing it back, waiting for a different login in the store',
    );
  }

  private escalateRejected(): void {
    const rejected = this.rejected;
    if (rejected === undefined || rejected.errorLogged || this.now() - rejected.since < REJECTED_ERROR_AFTER_MS) return;
    rejected.errorLogged = true;
    this.context.logger.error(
      { location: this.provider.location, since: iso(rejected.since) },
      'the login in the store was rejected by the Claude CLI and nothing replaced it for 2 minutes: run `claude login` and `claude-creds push`',
    );
  }

  private afterSettle(): void {
    this.escalateRejected();
    const local = credentialsOf(this.localView);
    if (local === undefined) return;
    this.journal.warnThresholds('token', local.oauth.expiresAt, this.settings.warnBeforeMs, this.now());
    const loginEnd = this.known.kind === 'valid' ? this.known.credentials.oauth.refreshTokenExpiresAt : local.oauth.refreshTokenExpiresAt;
    this.journal.warnThresholds('login', loginEnd, this.settings.loginWarnBeforeMs ?? DEFAULT_LOGIN_WARN_BEFORE_MS, this.now());
  }

  /** Inside the CLI's window with refresh on and nothing refreshed yet: a worker started now would refresh by itself. */
  awaitingRefresh(): boolean {
    const local = credentialsOf(this.localView);
    return this.settings.refresh !== undefined && local !== undefined && inCliWindow(local.oauth.expiresAt, this.now());
  }

  get local(): LocalView {
    return this.localView;
  }

  private async flush(timeoutMs: number): Promise<void> {
    const bound = { deadlineMs: Math.max(500, timeoutMs), signal: AbortSignal.timeout(Math.max(500, timeoutMs)) };
    if (this.delivered?.unpushed !== undefined) return this.push(this.delivered.unpushed, 'shutdown', bound);
    const local = await this.file.read().catch(() => undefined);
    if (local === undefined || !isFullCopy(local) || this.delivered === undefined || !isRefreshOf(local.credentials, this.delivered.credentials)) return;
    await this.push(local.credentials, 'shutdown', bound);
  }

  private schedulePull(): void {
    if (this.stopped || this.settings.pullIntervalMs <= 0) return;
    this.pullTimer = setTimeout(() => {
      void this.enqueue(() => this.reconcile('pull', { failHard: false })).finally(() => this.schedulePull());
    }, this.settings.pullIntervalMs);
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
