/**
 * Keeps one local credentials file and one store in step: pushes tokens the Claude CLI refreshed,
 * pulls tokens other workers pushed, and (when asked) is the one party that refreshes the login before
 * it expires. Every action goes through one queue, so a sidecar never races itself; races with other
 * sidecars are settled by the store's compare-and-swap and the freshness rule.
 */
import { dirname } from 'node:path';
import type { CommandContext } from '../core/context.js';
import { readStoreIfPresent, writeStore, type StoreSnapshot } from '../store/store-access.js';
import { resolveConflict } from '../store/resolve-conflict.js';
import type { Owner } from '../core/config.js';
import { assessExpiry, isNewer, parseCredentials, type Credentials } from '../core/credentials.js';
import { formatDuration } from '../core/duration.js';
import { ConflictError, InvalidCredentialsError, InvalidGrantError, NotFoundError, describeCause } from '../core/errors.js';
import { ensureDirectory, writeFileAtomic } from '../io/atomic-write.js';
import { readRegularFile } from '../io/local-file.js';
import type { OAuthSettings, RefreshedTokens } from '../oauth/refresh-client.js';
import { applyRefreshedTokens } from '../oauth/refresh-client.js';
import type { Provider } from '../core/provider.js';
import { withRetry } from '../core/retry.js';
import { withClaudeLocks } from '../io/claude-lock.js';
import { watchFile, type FileWatcher } from '../io/file-watcher.js';
import { decideSync, localCopyText, readLease, storeCopyText, withLease, type SideState } from '../core/merge.js';
import type { OperationRecord, SyncCounters, SyncOperation, SyncStatus } from '../core/sync-status.js';

export interface ProactiveRefresh {
  /** Refresh when less than this is left before expiry. */
  readonly beforeMs: number;
  /** Each sidecar waits a random part of this past the refresh time, so they do not all try at once. */
  readonly jitterMs: number;
  /** How long a claimed refresh lease holds off the others. */
  readonly leaseMs: number;
  readonly oauth: OAuthSettings;
  readonly refresh: (refreshToken: string, options: { signal: AbortSignal; timeoutMs: number }) => Promise<RefreshedTokens>;
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
  readonly refresh: ProactiveRefresh | undefined;
  /** Identifies this sidecar in refresh leases. */
  readonly holderId: string;
  /** Time to wait after claiming a lease on a store without compare-and-swap before trusting the claim. */
  readonly leaseSettleMs: number;
}

const MAX_CONFLICT_ROUNDS = 8;

export class SyncEngine {
  private known: StoreSnapshot | undefined;
  /** The text we last wrote locally: when the CLI rejects exactly that login, rewriting it would loop. */
  private lastWrittenLocal: string | undefined;
  private localState: SideState = { kind: 'missing' };
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FileWatcher | undefined;
  private pullTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly warned = new Set<string>();
  private readonly last: Partial<Record<SyncOperation, OperationRecord>> = {};
  private readonly lastSuccess: Partial<Record<SyncOperation, number>> = {};
  private lastError: OperationRecord | undefined;
  private readonly counters: SyncCounters = { pulls: 0, pushes: 0, refreshes: 0, conflicts: 0, failures: {}, storeCalls: 0 };
  private readonly startedAt: number;

  constructor(
    private readonly provider: Provider,
    private readonly settings: SyncSettings,
    private readonly context: CommandContext,
  ) {
    this.startedAt = context.now();
  }

  /** The first reconcile (a fetch, or a push of what a restarted sidecar's file has that the store lacks), then watch. */
  async start(): Promise<void> {
    await this.enqueue(() => this.reconcile('start', { failHard: true }));
    this.watcher = await watchFile(this.settings.localPath, {
      debounceMs: this.settings.debounceMs,
      pollIntervalMs: this.settings.pollIntervalMs,
      onChange: () => void this.enqueue(() => this.onLocalChange()),
      onError: (error) => this.context.logger.warn({ reason: error.message }, 'file watch failed; relying on the stat poll'),
    });
    this.schedulePull();
    this.scheduleRefresh();
  }

  /** Stop timers and the watcher, then push anything newer in the local file, within `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    if (this.pullTimer) clearTimeout(this.pullTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const flush = this.enqueueAlways(() => this.flush(timeoutMs));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.context.logger.warn({ timeoutMs }, 'shutdown flush did not finish in time');
        resolve();
      }, timeoutMs);
    });
    await Promise.race([flush.catch(() => undefined), timeout]);
    clearTimeout(timer);
    await this.provider.close?.();
  }

  status(): SyncStatus {
    const local = this.localState.kind === 'valid' ? this.localState.credentials : undefined;
    return {
      provider: this.provider.name,
      location: this.provider.location,
      localPath: this.settings.localPath,
      startedAt: this.startedAt,
      localExpiresAt: local?.oauth.expiresAt,
      storeExpiresAt: this.known?.credentials.oauth.expiresAt,
      ready: local !== undefined && local.oauth.expiresAt > this.context.now(),
      last: { ...this.last },
      lastSuccess: { ...this.lastSuccess },
      lastError: this.lastError,
      // What the provider actually sent (retries, challenges, logins), where it counts; else our own calls.
      counters: { ...this.counters, storeCalls: this.provider.requestsSent?.() ?? this.counters.storeCalls, failures: { ...this.counters.failures } },
    };
  }

  /** Runs one pull now (tests and the benchmark use it; the timer uses it too). */
  pullNow(): Promise<void> {
    return this.enqueue(() => this.reconcile('pull', { failHard: false }));
  }

  /** Resolves when everything queued so far has run. */
  idle(): Promise<void> {
    return this.enqueueAlways(async () => undefined);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.enqueueAlways(task);
  }

  private enqueueAlways(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // --- local side -------------------------------------------------------------------------------

  private async readLocal(): Promise<SideState> {
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(this.settings.localPath);
    } catch (error) {
      if (error instanceof NotFoundError) return (this.localState = { kind: 'missing' });
      throw error;
    }
    try {
      const credentials = parseCredentials(bytes, { requireRefreshToken: false });
      return (this.localState = { kind: 'valid', credentials });
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return (this.localState = { kind: 'invalid', reason: error.message });
      throw error;
    }
  }

  /**
   * Writes `store` into the local file under the CLI's locks, re-checking under the lock that the file
   * did not become newer meanwhile (the CLI may have refreshed while we waited for the lock).
   */
  private async writeLocal(store: Credentials): Promise<boolean> {
    const configDir = dirname(this.settings.localPath);
    await ensureDirectory(configDir, 0o700, this.settings.owner);
    return withClaudeLocks(configDir, async () => {
      const local = await this.readLocal();
      if (local.kind === 'valid' && !isNewer(store, local.credentials)) return false;
      const text = localCopyText(store, local.kind === 'valid' ? local.credentials : undefined, { accessOnly: this.settings.accessOnly });
      await writeFileAtomic(this.settings.localPath, text, { owner: this.settings.owner });
      this.lastWrittenLocal = text;
      this.localState = { kind: 'valid', credentials: parseCredentials(text, { requireRefreshToken: false }) };
      return true;
    });
  }

  // --- store side -------------------------------------------------------------------------------

  private async readStore(): Promise<StoreSnapshot | undefined> {
    this.counters.storeCalls += 1;
    try {
      const snapshot = await readStoreIfPresent(this.provider, this.context);
      if (snapshot && (!this.known || snapshot.version !== this.known.version || isNewer(snapshot.credentials, this.known.credentials))) {
        this.known = snapshot;
        this.scheduleRefresh();
      }
      return snapshot;
    } catch (error) {
      if (error instanceof InvalidCredentialsError) {
        this.fail('invalid-store', `the store holds invalid credentials: ${error.message}`);
        return undefined;
      }
      throw error;
    }
  }

  /** Push `local` over the store with compare-and-swap; on conflict re-read and re-decide. */
  private async push(local: Credentials, trigger: string, context: CommandContext = this.context): Promise<void> {
    let store = this.known;
    for (let round = 1; round <= MAX_CONFLICT_ROUNDS; round += 1) {
      const direction = decideSync({ kind: 'valid', credentials: local }, store ? { kind: 'valid', credentials: store.credentials } : { kind: 'missing' });
      if (direction === 'pull' && store) {
        await this.applyPull(store, `${trigger}: the store is newer`);
        return;
      }
      if (direction !== 'push') return;
      const text = storeCopyText(local, store?.credentials);
      try {
        this.counters.storeCalls += 1;
        const outcome = await writeStore(this.provider, text, store?.version, context);
        this.known = { credentials: parseCredentials(text), version: outcome.version };
        this.counters.pushes += 1;
        this.record('push', true, `pushed credentials expiring ${iso(local.oauth.expiresAt)} (${trigger})`);
        this.context.logger.info({ version: outcome.version, expiresAt: iso(local.oauth.expiresAt), trigger }, 'pushed newer credentials to the store');
        this.scheduleRefresh();
        return;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        this.counters.conflicts += 1;
        this.context.logger.info({ round }, 'another writer changed the store; re-reading');
        // Without compare-and-swap our write may have buried a fresher login, or landed below one.
        await resolveConflict(this.provider, store?.version, context);
        store = await this.readStore();
      }
    }
    throw new ConflictError(`the store kept changing during ${MAX_CONFLICT_ROUNDS} push attempts; will try again`);
  }

  private async applyPull(store: StoreSnapshot, trigger: string): Promise<void> {
    const written = await this.writeLocal(store.credentials);
    if (!written) return;
    this.counters.pulls += 1;
    this.record('pull', true, `pulled credentials expiring ${iso(store.credentials.oauth.expiresAt)} (${trigger})`);
    this.context.logger.info({ version: store.version, expiresAt: iso(store.credentials.oauth.expiresAt), trigger }, 'pulled newer credentials from the store');
  }

  // --- triggers ---------------------------------------------------------------------------------

  private async reconcile(trigger: string, { failHard }: { failHard: boolean }): Promise<void> {
    try {
      const local = await this.readLocal();
      const store = await this.readStore();
      const direction = decideSync(local, store ? { kind: 'valid', credentials: store.credentials } : { kind: 'missing' });
      if (direction === 'push' && local.kind === 'valid') await this.push(local.credentials, trigger);
      else if (direction === 'pull' && store) await this.applyPull(store, trigger);
      else if (trigger === 'pull') this.record('pull', true, 'in sync');
      if (!store && local.kind !== 'valid') {
        throw new NotFoundError(`no valid credentials in ${this.provider.location} nor in ${this.settings.localPath}; run \`claude-creds push\` after \`claude login\``);
      }
      this.warnIfExpiring();
    } catch (error) {
      this.fail(trigger === 'start' ? 'pull' : trigger, describeCause(error));
      if (failHard) throw error;
      this.context.logger.warn({ trigger, reason: describeCause(error) }, 'sync failed; will try again');
    }
  }

  private async onLocalChange(): Promise<void> {
    try {
      const local = await this.readLocal();
      if (local.kind === 'valid') {
        // Only a push needs the store; a file we wrote ourselves compares equal and costs nothing.
        if (decideSync(local, this.knownSide()) === 'push') await this.push(local.credentials, 'local file changed');
        this.warnIfExpiring();
        return;
      }
      if (local.kind === 'invalid') {
        this.fail('invalid-local', `the local file became invalid: ${local.reason}`);
        const store = await this.readStore();
        if (store && localCopyText(store.credentials, undefined, { accessOnly: this.settings.accessOnly }) === this.lastWrittenLocal) {
          // The CLI rejected exactly the login we gave it (invalid_grant): writing it again would loop.
          this.context.logger.error(
            { location: this.provider.location },
            'the Claude CLI rejected the login from the store (its refresh token is dead); waiting for newer credentials: run `claude login` and `claude-creds push`',
          );
          return;
        }
        if (store) await this.applyPull(store, 'local file became invalid');
      }
    } catch (error) {
      this.fail('push', describeCause(error));
      this.context.logger.warn({ reason: describeCause(error) }, 'push failed; will retry on the next pull tick');
    }
  }

  private async flush(timeoutMs: number): Promise<void> {
    const local = await this.readLocal().catch(() => undefined);
    if (local?.kind !== 'valid' || decideSync(local, this.knownSide()) !== 'push') return;
    const bounded = { ...this.context, retry: { ...this.context.retry, deadlineMs: Math.max(1000, timeoutMs - 500) } };
    await this.push(local.credentials, 'shutdown', bounded);
  }

  private knownSide(): SideState {
    return this.known ? { kind: 'valid', credentials: this.known.credentials } : { kind: 'missing' };
  }

  // --- timers -----------------------------------------------------------------------------------

  private schedulePull(): void {
    if (this.stopped || this.settings.pullIntervalMs <= 0) return;
    this.pullTimer = setTimeout(() => {
      void this.enqueue(() => this.reconcile('pull', { failHard: false })).finally(() => this.schedulePull());
    }, this.settings.pullIntervalMs);
  }

  private scheduleRefresh(delayOverrideMs?: number): void {
    const refresh = this.settings.refresh;
    if (!refresh || this.stopped || !this.known) return;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const dueAt = this.known.credentials.oauth.expiresAt - refresh.beforeMs + Math.random() * refresh.jitterMs;
    const delay = delayOverrideMs ?? Math.max(0, dueAt - this.context.now());
    this.refreshTimer = setTimeout(() => void this.enqueue(() => this.proactiveRefresh()), Math.min(delay, 2 ** 31 - 1));
  }

  /**
   * Refresh the login for everyone: re-read; if someone already refreshed, pull; if someone holds the
   * lease, wait; else claim the lease by compare-and-swap, refresh at the OAuth endpoint, keep the new
   * tokens locally first (so a crash loses nothing), then publish them through the store.
   */
  private async proactiveRefresh(): Promise<void> {
    const refresh = this.settings.refresh;
    if (!refresh) return;
    const { logger } = this.context;
    try {
      const store = await this.readStore();
      if (!store) return this.scheduleRefresh(this.settings.pullIntervalMs);
      const now = this.context.now();
      if (store.credentials.oauth.expiresAt - now > refresh.beforeMs) {
        await this.applyPull(store, 'someone else refreshed');
        return this.scheduleRefresh();
      }
      const lease = readLease(store.credentials);
      if (lease && lease.until > now && lease.holder !== this.settings.holderId) {
        logger.debug({ holder: lease.holder }, 'another sidecar is refreshing; waiting for its result');
        return this.scheduleRefresh(Math.min(lease.until - now, 2000) + Math.random() * 500);
      }

      this.counters.storeCalls += 1;
      const claimText = withLease(store.credentials, { holder: this.settings.holderId, until: now + refresh.leaseMs });
      let claimVersion: string | undefined;
      try {
        claimVersion = (await writeStore(this.provider, claimText, store.version, this.context)).version;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        this.counters.conflicts += 1;
        await resolveConflict(this.provider, store.version, this.context);
        return this.scheduleRefresh(200 + Math.random() * 800);
      }
      if (this.provider.writes === 'detect-conflict') {
        // Without a true compare-and-swap two claims can both land; the one still latest after a pause wins.
        await new Promise((resolve) => setTimeout(resolve, this.settings.leaseSettleMs));
        const settled = await this.readStore();
        if (!settled || settled.version !== claimVersion || readLease(settled.credentials)?.holder !== this.settings.holderId) {
          return this.scheduleRefresh(500 + Math.random() * 1000);
        }
      }

      logger.info({ expiresAt: iso(store.credentials.oauth.expiresAt) }, 'refreshing the login for all workers');
      let tokens: RefreshedTokens;
      try {
        tokens = await withRetry(
          'refreshing the OAuth login',
          (attempt) => refresh.refresh(store.credentials.oauth.refreshToken, { signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
          { ...this.context.retry, deadlineMs: Math.max(1000, refresh.leaseMs / 2) },
        );
      } catch (error) {
        this.fail('refresh', describeCause(error));
        if (error instanceof InvalidGrantError) {
          logger.warn('the refresh token was already used (another party refreshed); pulling instead');
          const latest = await this.readStore();
          if (latest) await this.applyPull(latest, 'refresh lost the race');
          return this.scheduleRefresh(this.settings.pullIntervalMs);
        }
        throw error;
      }

      const refreshedText = applyRefreshedTokens(store.credentials.text, tokens);
      const refreshed = parseCredentials(refreshedText);
      // The new tokens reach the disk before anything else can fail: a crash now loses nothing.
      await this.writeLocal(refreshed);
      this.counters.refreshes += 1;
      this.record('refresh', true, `refreshed; new token expires ${iso(tokens.expiresAt)}`);
      this.known = { credentials: store.credentials, version: claimVersion };
      await this.push(refreshed, 'proactive refresh');
    } catch (error) {
      this.fail('refresh', describeCause(error));
      logger.warn({ reason: describeCause(error) }, 'proactive refresh failed; will try again');
      this.scheduleRefresh(Math.min(this.settings.pullIntervalMs, 30_000));
    }
  }

  // --- bookkeeping ------------------------------------------------------------------------------

  private warnIfExpiring(): void {
    if (this.localState.kind !== 'valid') return;
    const { oauth } = this.localState.credentials;
    for (const threshold of this.settings.warnBeforeMs) {
      const key = `${oauth.expiresAt}:${threshold}`;
      const expiry = assessExpiry(oauth, this.context.now(), threshold);
      if (expiry.state !== 'valid' && !this.warned.has(key)) {
        this.warned.add(key);
        this.context.logger.warn(
          { expiresAt: iso(oauth.expiresAt), left: formatDuration(expiry.msLeft) },
          expiry.state === 'expired' ? 'the local access token has expired' : `the local access token expires in ${formatDuration(expiry.msLeft)}`,
        );
      }
    }
  }

  private record(operation: SyncOperation, ok: boolean, detail: string): void {
    const at = this.context.now();
    this.last[operation] = { at, ok, detail };
    if (ok) this.lastSuccess[operation] = at;
  }

  private fail(kind: string, detail: string): void {
    this.counters.failures[kind] = (this.counters.failures[kind] ?? 0) + 1;
    const record = { at: this.context.now(), ok: false, detail };
    this.lastError = record;
    if (kind === 'pull' || kind === 'push' || kind === 'refresh') this.last[kind] = record;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
