/**
 * The long-running side of claude-creds: `sidecar` (its own container) and `run --sync` (beside the
 * wrapped command in one process). Both start a SyncEngine and, when asked, the health endpoints.
 */
import type { Owner, ProviderChoice } from '../core/config.js';
import { formatDuration } from '../core/duration.js';
import { ReadOnlyProviderError, describeCause } from '../core/errors.js';
import { createProvider } from '../providers/registry.js';
import { startHealthServer } from '../sync/health-server.js';
import { SyncEngine, type ProactiveRefresh } from '../sync/sync-engine.js';
import type { CommandContext } from '../core/context.js';

export interface SyncCommandSettings {
  readonly provider: ProviderChoice;
  readonly out: string;
  readonly owner: Owner | undefined;
  readonly pullIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly debounceMs: number;
  readonly accessOnly: boolean;
  readonly warnBeforeMs: readonly number[];
  readonly loginWarnBeforeMs: readonly number[];
  readonly refresh: ProactiveRefresh | undefined;
  readonly holderId: string;
  /** statusDetails: /status and /readyz details for every client, not only loopback ones. */
  readonly health: { readonly host: string; readonly port: number; readonly statusDetails?: boolean } | undefined;
  readonly flushTimeoutMs: number;
}

export interface RunningSync {
  readonly engine: SyncEngine;
  readonly healthPort: number | undefined;
  /** Flush what is newer locally to the store (bounded), then stop everything. */
  stop(): Promise<void>;
}

export async function startSync(settings: SyncCommandSettings, context: CommandContext): Promise<RunningSync> {
  const { config, reason } = settings.provider;
  context.logger.info({ provider: config.name, reason }, `using the ${config.name} provider`);
  const provider = await createProvider(config);
  if (provider.writes === 'none') {
    await provider.close?.();
    throw new ReadOnlyProviderError(`${provider.location} is read-only (${config.name}): sidecar and run --sync need a store they can write refreshed logins back to`);
  }
  const engine = new SyncEngine(
    provider,
    {
      localPath: settings.out,
      pullIntervalMs: settings.pullIntervalMs,
      pollIntervalMs: settings.pollIntervalMs,
      debounceMs: settings.debounceMs,
      accessOnly: settings.accessOnly,
      owner: settings.owner,
      warnBeforeMs: settings.warnBeforeMs,
      loginWarnBeforeMs: settings.loginWarnBeforeMs,
      refresh: settings.refresh,
      holderId: settings.holderId,
      leaseSettleMs: 1500,
    },
    context,
  );
  const health = settings.health
    ? await startHealthServer({
        ...settings.health,
        status: () => engine.status(),
        onError: (error) => context.logger.warn({ reason: describeCause(error) }, 'health endpoint failed'),
      })
    : undefined;
  try {
    await engine.start();
  } catch (error) {
    await health?.close();
    await provider.close?.();
    throw error;
  }
  context.logger.info(
    {
      path: settings.out,
      location: provider.location,
      pullInterval: settings.pullIntervalMs === 0 ? 'off' : formatDuration(settings.pullIntervalMs),
      proactiveRefresh: settings.refresh !== undefined,
      workerCopy: settings.accessOnly ? 'access-only' : 'full',
      healthPort: health?.port,
    },
    'keeping the local file and the store in step',
  );
  return {
    engine,
    healthPort: health?.port,
    async stop() {
      await engine.stop(settings.flushTimeoutMs);
      await health?.close();
      context.logger.info('sync stopped');
    },
  };
}
