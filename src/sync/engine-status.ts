/**
 * The engine's status snapshot for the health endpoints, and its readiness: a worker may start (and a
 * Compose `service_healthy` / Kubernetes startup probe lets it) only when the local file holds a login it
 * can use without refreshing it by itself and without racing the fleet's refresher.
 */
import type { SyncStatus } from '../core/sync-status.js';
import { formatDuration } from '../core/duration.js';
import { credentialsOf, type LocalView } from './worker-file.js';
import type { SyncEngine } from './sync-engine.js';

export function buildStatus(engine: SyncEngine, local: LocalView, startedAt: number): SyncStatus {
  const login = credentialsOf(local);
  const store = engine.known;
  const now = engine.now();
  const notReadyReason = readinessProblem(engine, local, now);
  return {
    provider: engine.provider.name,
    location: engine.provider.location,
    localPath: engine.settings.localPath,
    startedAt,
    localExpiresAt: login?.oauth.expiresAt,
    storeExpiresAt: store.kind === 'valid' ? engine.localExpiry(store.credentials) : undefined,
    ready: notReadyReason === undefined,
    notReadyReason,
    loginEndsAt: (store.kind === 'valid' ? store.credentials.oauth.refreshTokenExpiresAt : undefined) ?? login?.oauth.refreshTokenExpiresAt,
    storeDocument: store.kind,
    storeGeneration: store.kind === 'valid' ? store.meta.generation : undefined,
    localCopy: login === undefined ? undefined : login.oauth.refreshToken === '' ? 'access-only' : 'full',
    clockLeadMs: engine.clock.leadMs,
    last: { ...engine.journal.last },
    lastSuccess: { ...engine.journal.lastSuccess },
    lastError: engine.journal.lastError,
    counters: { ...engine.journal.counters, failures: { ...engine.journal.counters.failures }, storeCalls: storeCallsOf(engine) },
  };
}

function readinessProblem(engine: SyncEngine, local: LocalView, now: number): string | undefined {
  if (engine.rejected !== undefined) return 'not ready: the Claude CLI rejected the login in the store; waiting for a different one (`claude login` + `claude-creds push`)';
  const login = credentialsOf(local);
  if (login === undefined) return local.kind === 'invalid' && local.wiped ? 'not ready: the local login was wiped by the Claude CLI' : 'not ready: no valid credentials in the local file';
  if (login.oauth.expiresAt <= now) return `not ready: token expired ${formatDuration(now - login.oauth.expiresAt)} ago`;
  if (engine.awaitingRefresh()) return `not ready: the token expires in ${formatDuration(login.oauth.expiresAt - now)}, inside the Claude CLI's own refresh window; waiting for the fleet's refresh`;
  return undefined;
}

/** Every request the provider sent when it counts them (retries and SDK-internal calls included), else our own count. */
function storeCallsOf(engine: SyncEngine): number {
  const counted = engine.provider.requestsSent?.();
  return typeof counted === 'number' ? counted : engine.journal.counters.storeCalls;
}
