/**
 * The sidecar's health endpoints: liveness, readiness, a JSON status and Prometheus metrics, served by
 * plain `node:http` so the probe path has no dependency that could break it.
 *
 * Everything served is rebuilt field by field from the `SyncStatus` snapshot: nothing is spread or
 * serialised wholesale, so a field added to the snapshot later cannot leak through these endpoints
 * without someone choosing to publish it here.
 *
 * It listens on the pod network (the kubelet probes from there), so it is built for hostile clients:
 * a cap on open connections and short header, request and idle timeouts keep slow or idle sockets from
 * eating the file descriptors the sync itself needs; and the details that map the deployment (the
 * store's location, the provider, the file path, the operations' messages) go only to loopback, or to
 * everyone when asked for with `statusDetails`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatDuration } from '../core/duration.js';
import { printableJson } from '../core/printable.js';
import type { OperationRecord, SyncOperation, SyncStatus } from '../core/sync-status.js';

export interface HealthServerOptions {
  /** Defaults to all interfaces: probes come from the kubelet or the container runtime, not loopback. */
  host?: string;
  /** 0 picks any free port; the chosen one is returned. */
  port: number;
  status: () => SyncStatus;
  now?: () => number;
  /**
   * Told about a failure while answering (the status getter threw). The HTTP client only ever sees a
   * generic 500, so this is the one place the cause can be logged.
   */
  onError?: (error: unknown) => void;
  /** `/status` and `/readyz` details for every client, not only loopback ones (--health-status-details). */
  statusDetails?: boolean;
  /** Open connections at most; more are closed as soon as they are accepted. */
  maxConnections?: number;
  /** Time a client has to send its request headers (and, at most twice that, the whole request). */
  headersTimeoutMs?: number;
  /** A connection with nothing to do (keep-alive, or silent) is closed after this. */
  idleTimeoutMs?: number;
  /** Which peers are local (see isLoopbackAddress); a seam for tests, which can only connect over loopback. */
  isLocal?: (remoteAddress: string | undefined) => boolean;
}

export const HEALTH_LIMITS = { maxConnections: 64, headersTimeoutMs: 5_000, idleTimeoutMs: 5_000 } as const;

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const OPERATIONS: readonly SyncOperation[] = ['pull', 'push', 'refresh'];
const ROUTES = new Set(['/healthz', '/readyz', '/status', '/metrics']);
const ALLOW = 'GET, HEAD';
const TEXT = 'text/plain; charset=utf-8';

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: OutgoingHttpHeaders;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const host = options.host ?? '0.0.0.0';
  const now = options.now ?? Date.now;

  const headersTimeout = options.headersTimeoutMs ?? HEALTH_LIMITS.headersTimeoutMs;
  const idleTimeout = options.idleTimeoutMs ?? HEALTH_LIMITS.idleTimeoutMs;
  const isLocal = options.isLocal ?? isLoopbackAddress;
  const server = createServer(
    {
      // How often Node looks for requests past their headers/request timeout: the default (30 s) would
      // let a slow client hold its socket that long whatever the timeouts say.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 2))),
      maxHeaderSize: 8 * 1024,
    },
    (request, response) => {
      let reply: Reply;
      try {
        const detailed = options.statusDetails === true || isLocal(request.socket.remoteAddress);
        reply = route(request, options.status, now, detailed);
      } catch (error) {
        // The message could name paths or store details; probes and scrapers need none of it.
        reply = { status: 500, contentType: TEXT, body: 'internal error\n' };
        try {
          options.onError?.(error);
        } catch {
          // a failing logger must not take the answer down with it
        }
      }
      send(request, response, reply);
    },
  );
  server.maxConnections = options.maxConnections ?? HEALTH_LIMITS.maxConnections;
  server.headersTimeout = headersTimeout;
  server.requestTimeout = headersTimeout * 2;
  server.keepAliveTimeout = idleTimeout;
  // A socket with no traffic at all (connected, then silent) is closed too.
  server.setTimeout(idleTimeout * 2, (socket) => socket.destroy());
  server.maxRequestsPerSocket = 100;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  return {
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // close() drops idle keep-alive sockets but waits for busy ones (a scraper half-way through its
        // headers) until headersTimeout: a minute of stalled shutdown.
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** 127.0.0.0/8, ::1, and those as IPv4-mapped IPv6: peers inside the container (or pod) itself. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function route(request: IncomingMessage, getStatus: () => SyncStatus, now: () => number, detailed: boolean): Reply {
  const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
  if (!ROUTES.has(path)) return { status: 404, contentType: TEXT, body: 'not found\n' };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return { status: 405, contentType: TEXT, body: 'method not allowed\n', headers: { allow: ALLOW } };
  }
  // Liveness must not depend on the sync state: a wedged status getter is a readiness problem, not a
  // reason for the kubelet to restart the container.
  if (path === '/healthz') return { status: 200, contentType: TEXT, body: healthzBody(getStatus, now()) };

  const status = getStatus();
  const at = now();
  switch (path) {
    case '/readyz': {
      const note = status.storeDocument === 'invalid' ? ' (the store holds an invalid document; replacing it with this login)' : '';
      return status.ready
        ? { status: 200, contentType: TEXT, body: `ready${note}\n` }
        : { status: 503, contentType: TEXT, body: `${oneLine(status.notReadyReason ?? notReadyReason(status, at, detailed))}${note}\n` };
    }
    case '/status':
      return { status: 200, contentType: 'application/json; charset=utf-8', body: `${statusJson(status, at, detailed)}\n` };
    default:
      return { status: 200, contentType: METRICS_CONTENT_TYPE, body: metricsText(status, at) };
  }
}

function send(request: IncomingMessage, response: ServerResponse, reply: Reply): void {
  const body = Buffer.from(reply.body, 'utf8');
  response.writeHead(reply.status, {
    'content-type': reply.contentType,
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...reply.headers,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/**
 * Alive, plus when the login ends: the one date an operator must act on. Liveness never depends on the
 * sync state, so a failing status getter still answers `ok`.
 */
function healthzBody(getStatus: () => SyncStatus, now: number): string {
  let loginEndsAt: number | undefined;
  try {
    loginEndsAt = getStatus().loginEndsAt;
  } catch {
    return 'ok\n';
  }
  const end = iso(loginEndsAt);
  return end === null ? 'ok\n' : `ok; login ends ${end} (in ${formatDuration(Math.max(0, (loginEndsAt ?? now) - now))})\n`;
}

/** One line for `kubectl describe` and probe logs. */
export function notReadyReason(status: SyncStatus, now: number, detailed = true): string {
  const expiresAt = status.localExpiresAt;
  if (expiresAt === undefined || !Number.isFinite(expiresAt)) {
    return `not ready: no valid credentials in ${detailed ? oneLine(status.localPath) : 'the local file'}`;
  }
  if (expiresAt <= now) return `not ready: token expired ${formatDuration(now - expiresAt)} ago`;
  // Valid and unexpired yet not ready: the sync keeps a safety margin before expiry.
  return `not ready: token expires in ${formatDuration(expiresAt - now)}`;
}

export function secondsUntilExpiry(status: SyncStatus, now: number): number | null {
  const expiresAt = status.localExpiresAt;
  if (expiresAt === undefined || !Number.isFinite(expiresAt)) return null;
  // Floor so a token is never reported as lasting longer than it does.
  return Math.floor((expiresAt - now) / 1000);
}

/**
 * The JSON of `/status`. Without `detailed` (a client on the pod network) it leaves out what maps the
 * deployment: provider, store location, local path, and the operations' messages, which can name them.
 */
export function statusJson(status: SyncStatus, now: number, detailed = true): string {
  const failures: Record<string, number> = {};
  for (const kind of Object.keys(status.counters.failures).sort()) {
    const count = status.counters.failures[kind];
    if (typeof count === 'number') {
      // defineProperty: a kind spelled `__proto__` must stay a plain key, not reach the prototype.
      Object.defineProperty(failures, kind, { value: count, enumerable: true, writable: true, configurable: true });
    }
  }
  const where = detailed ? { provider: status.provider, location: status.location, localPath: status.localPath } : {};
  const body = {
    ...where,
    startedAt: iso(status.startedAt),
    ready: status.ready,
    localExpiresAt: iso(status.localExpiresAt),
    storeExpiresAt: iso(status.storeExpiresAt),
    secondsUntilExpiry: secondsUntilExpiry(status, now),
    notReadyReason: status.ready ? null : oneLine(status.notReadyReason ?? notReadyReason(status, now, detailed)),
    loginEndsAt: iso(status.loginEndsAt),
    storeDocument: status.storeDocument ?? null,
    storeGeneration: status.storeGeneration ?? null,
    localCopy: status.localCopy ?? null,
    clockLeadSeconds: status.clockLeadMs === undefined ? null : Math.round(status.clockLeadMs / 1000),
    last: {
      pull: record(status.last.pull, detailed),
      push: record(status.last.push, detailed),
      refresh: record(status.last.refresh, detailed),
    },
    lastError: record(status.lastError, detailed),
    counters: {
      pulls: status.counters.pulls,
      pushes: status.counters.pushes,
      refreshes: status.counters.refreshes,
      conflicts: status.counters.conflicts,
      storeCalls: status.counters.storeCalls,
      failures,
    },
  };
  return printableJson(body);
}

function record(entry: OperationRecord | undefined, detailed: boolean): { at: string | null; ok: boolean; detail?: string } | null {
  if (entry === undefined) return null;
  return detailed ? { at: iso(entry.at), ok: entry.ok, detail: entry.detail } : { at: iso(entry.at), ok: entry.ok };
}

function iso(ms: number | undefined): string | null {
  if (ms === undefined) return null;
  const date = new Date(ms);
  // An out-of-range time would make toISOString throw and turn a status page into a 500.
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Prometheus text exposition format 0.0.4. */
export function metricsText(status: SyncStatus, now: number): string {
  const lines: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${formatValue(value)}`);
  };
  const counters = status.counters;

  family('claude_creds_pulls_total', 'counter', 'Credentials pulled from the store into the local file.', [
    ['', counters.pulls],
  ]);
  family('claude_creds_pushes_total', 'counter', 'Credentials pushed from the local file to the store.', [
    ['', counters.pushes],
  ]);
  family('claude_creds_refreshes_total', 'counter', 'OAuth token refreshes performed.', [['', counters.refreshes]]);
  family('claude_creds_conflicts_total', 'counter', 'Compare-and-swap writes lost to another writer.', [
    ['', counters.conflicts],
  ]);
  family('claude_creds_store_calls_total', 'counter', 'Calls made to the secret store, reads and writes.', [
    ['', counters.storeCalls],
  ]);
  family(
    'claude_creds_failures_total',
    'counter',
    'Failures by kind.',
    Object.keys(counters.failures)
      .sort()
      .flatMap((kind): [string, number][] => {
        const count = counters.failures[kind];
        return typeof count === 'number' ? [[`{kind="${escapeLabelValue(kind)}"}`, count]] : [];
      }),
  );
  family('claude_creds_ready', 'gauge', 'Whether a valid, unexpired token is in place locally (1) or not (0).', [
    ['', status.ready ? 1 : 0],
  ]);
  family(
    'claude_creds_login_expiry_timestamp_seconds',
    'gauge',
    'Unix time when the login itself ends (refreshTokenExpiresAt); a new claude login is due before then.',
    status.loginEndsAt === undefined ? [] : [['', status.loginEndsAt / 1000]],
  );
  family('claude_creds_store_document_invalid', 'gauge', 'Whether the store holds an invalid credentials document (1) being replaced, or not (0).', [
    ['', status.storeDocument === 'invalid' ? 1 : 0],
  ]);
  const seconds = secondsUntilExpiry(status, now);
  family(
    'claude_creds_seconds_until_expiry',
    'gauge',
    'Seconds until the local token expires; negative once expired.',
    seconds === null ? [] : [['', seconds]],
  );
  family(
    'claude_creds_last_success_timestamp_seconds',
    'gauge',
    'Unix time of the last successful operation.',
    OPERATIONS.flatMap((operation): [string, number][] => {
      const at = status.lastSuccess[operation];
      return at === undefined ? [] : [[`{operation="${operation}"}`, at / 1000]];
    }),
  );
  return `${lines.join('\n')}\n`;
}

/** Label values escape backslash, double quote and line feed, per the 0.0.4 format. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function oneLine(text: string): string {
  // The reason is a single line in probe output; a path with a newline would forge a second one.
  return text.replace(/[\u0000-\u001f\u007f]/g, '?');
}
