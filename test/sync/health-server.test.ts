import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { METRICS_CONTENT_TYPE, isLoopbackAddress, startHealthServer } from '../../src/sync/health-server.js';
import type { HealthServer, HealthServerOptions } from '../../src/sync/health-server.js';
import type { SyncStatus } from '../../src/core/sync-status.js';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const MINUTE = 60_000;

function makeStatus(overrides: Partial<SyncStatus> = {}): SyncStatus {
  return {
    provider: 'aws',
    location: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:claude',
    localPath: '/home/node/.claude/.credentials.json',
    startedAt: NOW - 10 * MINUTE,
    localExpiresAt: NOW + 90 * MINUTE,
    storeExpiresAt: NOW + 90 * MINUTE,
    ready: true,
    last: {
      pull: { at: NOW - 5 * MINUTE, ok: true, detail: 'pulled version 7' },
      push: { at: NOW - 4 * MINUTE, ok: false, detail: 'store already newer' },
    },
    lastSuccess: { pull: NOW - 5 * MINUTE, push: NOW - 20 * MINUTE },
    lastError: { at: NOW - 4 * MINUTE, ok: false, detail: 'store already newer' },
    counters: { pulls: 3, pushes: 1, refreshes: 0, conflicts: 2, failures: { push: 1 }, storeCalls: 9 },
    ...overrides,
  };
}

let server: HealthServer | undefined;

async function serve(status: () => SyncStatus, options: Partial<HealthServerOptions> = {}): Promise<string> {
  server = await startHealthServer({ host: '127.0.0.1', port: 0, status, now: () => NOW, ...options });
  return `http://127.0.0.1:${server.port}`;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Family {
  help: boolean;
  type: string | undefined;
  samples: { labels: string; value: number }[];
}

const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
const SAMPLE = new RegExp(
  String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:${LABEL}(?:,${LABEL})*)?\})? (NaN|[+-]Inf|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$`,
);

/** A strict reader of the 0.0.4 text format: throws on any line a scraper could misread. */
function parseMetrics(text: string): Map<string, Family> {
  expect(text.endsWith('\n')).toBe(true);
  const families = new Map<string, Family>();
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest] = meta;
      const family = families.get(name) ?? { help: false, type: undefined, samples: [] };
      if (family.samples.length > 0) throw new Error(`${kind} after samples for ${name}`);
      if (kind === 'HELP') family.help = true;
      else family.type = rest;
      families.set(name, family);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name = '', labels = '', value = ''] = sample;
    const family = families.get(name);
    if (!family?.help || family.type === undefined) throw new Error(`sample before HELP and TYPE: ${name}`);
    family.samples.push({ labels, value: Number(value) });
  }
  return families;
}

async function metrics(status: SyncStatus): Promise<Map<string, Family>> {
  const base = await serve(() => status);
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(METRICS_CONTENT_TYPE);
  return parseMetrics(await response.text());
}

describe('/healthz', () => {
  test('answers ok even when the status getter fails', async () => {
    const base = await serve(() => {
      throw new Error('broken');
    });
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
  });

  test('ignores a query string', async () => {
    const base = await serve(() => makeStatus());
    expect((await fetch(`${base}/healthz?probe=1`)).status).toBe(200);
  });
});

describe('/readyz', () => {
  test.each([
    ['ready', 200, 'ready\n', makeStatus()],
    [
      'no valid credentials',
      503,
      'not ready: no valid credentials in /home/node/.claude/.credentials.json\n',
      makeStatus({ ready: false, localExpiresAt: undefined }),
    ],
    ['expired', 503, 'not ready: token expired 7m ago\n', makeStatus({ ready: false, localExpiresAt: NOW - 7 * MINUTE })],
    [
      'inside the safety margin',
      503,
      'not ready: token expires in 2m\n',
      makeStatus({ ready: false, localExpiresAt: NOW + 2 * MINUTE }),
    ],
  ])('%s -> %i', async (_name, code, body, status) => {
    const base = await serve(() => status);
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(code);
    expect(await response.text()).toBe(body);
  });

  test('keeps the reason on one line whatever the path holds', async () => {
    const base = await serve(() => makeStatus({ ready: false, localExpiresAt: undefined, localPath: '/x\nforged: yes' }));
    const text = await (await fetch(`${base}/readyz`)).text();
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('/status', () => {
  test('serves exactly the documented fields', async () => {
    const base = await serve(() => makeStatus());
    const response = await fetch(`${base}/status`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toStrictEqual({
      provider: 'aws',
      location: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:claude',
      localPath: '/home/node/.claude/.credentials.json',
      startedAt: '2025-06-01T11:50:00.000Z',
      ready: true,
      localExpiresAt: '2025-06-01T13:30:00.000Z',
      storeExpiresAt: '2025-06-01T13:30:00.000Z',
      secondsUntilExpiry: 5400,
      notReadyReason: null,
      loginEndsAt: null,
      storeDocument: null,
      storeGeneration: null,
      localCopy: null,
      clockLeadSeconds: null,
      last: {
        pull: { at: '2025-06-01T11:55:00.000Z', ok: true, detail: 'pulled version 7' },
        push: { at: '2025-06-01T11:56:00.000Z', ok: false, detail: 'store already newer' },
        refresh: null,
      },
      lastError: { at: '2025-06-01T11:56:00.000Z', ok: false, detail: 'store already newer' },
      counters: { pulls: 3, pushes: 1, refreshes: 0, conflicts: 2, storeCalls: 9, failures: { push: 1 } },
    });
  });

  test.each([
    ['unknown expiry', undefined, null, null],
    ['expired', NOW - 90_500, '2025-06-01T11:58:29.500Z', -91],
    ['valid', NOW + 61_999, '2025-06-01T12:01:01.999Z', 61],
  ])('%s: localExpiresAt %s', async (_name, localExpiresAt, iso, seconds) => {
    const base = await serve(() => makeStatus({ localExpiresAt, storeExpiresAt: undefined, lastError: undefined }));
    const body = (await (await fetch(`${base}/status`)).json()) as Record<string, unknown>;
    expect(body.localExpiresAt).toBe(iso);
    expect(body.storeExpiresAt).toBeNull();
    expect(body.secondsUntilExpiry).toBe(seconds);
    expect(body.lastError).toBeNull();
  });

  test('writes C1 controls and line separators in the messages as \\u escapes (JSON.stringify would leave them raw)', async () => {
    const detail = 'store said \u009b2J\u2028\u202e no';
    const base = await serve(() => makeStatus({ lastError: { at: NOW, ok: false, detail } }));
    const text = await (await fetch(`${base}/status`)).text();
    expect(text).not.toMatch(/[\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect((JSON.parse(text) as { lastError: { detail: string } }).lastError.detail).toBe(detail);
  });

  test('does not publish fields the snapshot grows later', async () => {
    const status = makeStatus();
    const leaky = {
      ...status,
      accessToken: 'sk-ant-oat01-secret',
      last: { pull: { at: NOW, ok: true, detail: 'ok', refreshToken: 'sk-ant-ort01-secret' } },
      counters: { ...status.counters, token: 'sk-ant-oat01-secret' },
    } as SyncStatus;
    const base = await serve(() => leaky);
    const text = await (await fetch(`${base}/status`)).text();
    expect(text).not.toContain('sk-ant');
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual(
      [
        'counters',
        'last',
        'lastError',
        'localExpiresAt',
        'localPath',
        'location',
        'provider',
        'ready',
        'secondsUntilExpiry',
        'startedAt',
        'storeExpiresAt',
        'notReadyReason',
        'loginEndsAt',
        'storeDocument',
        'storeGeneration',
        'localCopy',
        'clockLeadSeconds',
      ].sort(),
    );
  });
});

describe('details only for loopback clients, unless --health-status-details', () => {
  // Tests can only connect over loopback: `isLocal` stands in for a client on the pod network.
  const podNetwork = { isLocal: () => false };

  test('a client on the pod network gets /status without provider, location, path or messages', async () => {
    const base = await serve(() => makeStatus(), podNetwork);
    const text = await (await fetch(`${base}/status`)).text();
    for (const hidden of ['aws', 'arn:aws', '/home/node', 'pulled version 7', 'store already newer']) expect(text).not.toContain(hidden);
    expect(JSON.parse(text)).toStrictEqual({
      startedAt: '2025-06-01T11:50:00.000Z',
      ready: true,
      localExpiresAt: '2025-06-01T13:30:00.000Z',
      storeExpiresAt: '2025-06-01T13:30:00.000Z',
      secondsUntilExpiry: 5400,
      notReadyReason: null,
      loginEndsAt: null,
      storeDocument: null,
      storeGeneration: null,
      localCopy: null,
      clockLeadSeconds: null,
      last: { pull: { at: '2025-06-01T11:55:00.000Z', ok: true }, push: { at: '2025-06-01T11:56:00.000Z', ok: false }, refresh: null },
      lastError: { at: '2025-06-01T11:56:00.000Z', ok: false },
      counters: { pulls: 3, pushes: 1, refreshes: 0, conflicts: 2, storeCalls: 9, failures: { push: 1 } },
    });
  });

  test('its /readyz reason does not name the path; /healthz answers it as before', async () => {
    const base = await serve(() => makeStatus({ ready: false, localExpiresAt: undefined }), podNetwork);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe('not ready: no valid credentials in the local file\n');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test('with statusDetails the pod network gets the details too', async () => {
    const base = await serve(() => makeStatus(), { ...podNetwork, statusDetails: true });
    expect(await (await fetch(`${base}/status`)).json()).toMatchObject({ provider: 'aws', localPath: '/home/node/.claude/.credentials.json' });
  });

  test.each([
    ['127.0.0.1', true],
    ['127.45.0.9', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.7', false],
    ['::ffff:10.0.0.7', false],
    ['fe80::1', false],
    ['1270.0.0.1', false],
    [undefined, false],
  ])('isLoopbackAddress(%s) is %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });
});

describe('connection limits', () => {
  test('connections beyond the cap are closed at once; a slot freed by the header timeout serves /healthz again', async () => {
    const base = await serve(() => makeStatus(), { maxConnections: 2, headersTimeoutMs: 300, idleTimeoutMs: 300 });
    const port = Number(new URL(base).port);
    const slow = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
    for (const socket of slow) {
      socket.on('error', () => undefined);
      socket.resume(); // a paused socket never sees the server's FIN
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    // A third is over the cap.
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    const closed = await Promise.all(slow.map((socket) => new Promise<number>((resolve) => {
      const started = Date.now();
      socket.once('close', () => resolve(Date.now() - started));
    })));
    // Node checks the header timeout every 150 ms here; 300 ms + one check, with room for a busy machine.
    for (const ms of closed) expect(ms).toBeLessThan(3_000);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test('a connection that never sends anything is closed too', async () => {
    const base = await serve(() => makeStatus(), { headersTimeoutMs: 300, idleTimeoutMs: 300 });
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('/metrics', () => {
  test('publishes every family with HELP and TYPE, in a form a scraper can read', async () => {
    const families = await metrics(
      makeStatus({
        last: { ...makeStatus().last, refresh: { at: NOW - 1500, ok: true, detail: 'refreshed' } },
        lastSuccess: { ...makeStatus().lastSuccess, refresh: NOW - 1500 },
      }),
    );
    const samples = (name: string): { labels: string; value: number }[] => families.get(name)?.samples ?? [];
    expect([...families.keys()]).toEqual([
      'claude_creds_pulls_total',
      'claude_creds_pushes_total',
      'claude_creds_refreshes_total',
      'claude_creds_conflicts_total',
      'claude_creds_store_calls_total',
      'claude_creds_failures_total',
      'claude_creds_ready',
      'claude_creds_login_expiry_timestamp_seconds',
      'claude_creds_store_document_invalid',
      'claude_creds_seconds_until_expiry',
      'claude_creds_last_success_timestamp_seconds',
    ]);
    for (const [name, family] of families) {
      expect(family.type, name).toBe(name.endsWith('_total') ? 'counter' : 'gauge');
    }
    expect(samples('claude_creds_pulls_total')).toEqual([{ labels: '', value: 3 }]);
    expect(samples('claude_creds_pushes_total')).toEqual([{ labels: '', value: 1 }]);
    expect(samples('claude_creds_refreshes_total')).toEqual([{ labels: '', value: 0 }]);
    expect(samples('claude_creds_conflicts_total')).toEqual([{ labels: '', value: 2 }]);
    expect(samples('claude_creds_store_calls_total')).toEqual([{ labels: '', value: 9 }]);
    expect(samples('claude_creds_failures_total')).toEqual([{ labels: '{kind="push"}', value: 1 }]);
    expect(samples('claude_creds_ready')).toEqual([{ labels: '', value: 1 }]);
    expect(samples('claude_creds_seconds_until_expiry')).toEqual([{ labels: '', value: 5400 }]);
    // the last push failed, but its earlier success is still reported: alerts key on the last success
    expect(samples('claude_creds_last_success_timestamp_seconds')).toEqual([
      { labels: '{operation="pull"}', value: (NOW - 5 * MINUTE) / 1000 },
      { labels: '{operation="push"}', value: (NOW - 20 * MINUTE) / 1000 },
      { labels: '{operation="refresh"}', value: (NOW - 1500) / 1000 },
    ]);
  });

  test.each([
    ['ready', 1, 5400, makeStatus()],
    ['expired', 0, -120, makeStatus({ ready: false, localExpiresAt: NOW - 2 * MINUTE })],
    ['unknown expiry', 0, undefined, makeStatus({ ready: false, localExpiresAt: undefined })],
  ])('%s: ready %i, seconds until expiry %s', async (_name, ready, seconds, status) => {
    const families = await metrics(status);
    expect(families.get('claude_creds_ready')?.samples).toEqual([{ labels: '', value: ready }]);
    const expiry = families.get('claude_creds_seconds_until_expiry');
    expect(expiry?.help).toBe(true);
    expect(expiry?.samples).toEqual(seconds === undefined ? [] : [{ labels: '', value: seconds }]);
  });

  test('escapes label values and gives each failure kind its own series', async () => {
    const failures = { 'invalid-local': 2, 'say "hi"': 1, 'back\\slash': 3, 'two\nlines': 4 };
    const families = await metrics(makeStatus({ counters: { ...makeStatus().counters, failures } }));
    expect(families.get('claude_creds_failures_total')?.samples).toEqual([
      { labels: String.raw`{kind="back\\slash"}`, value: 3 },
      { labels: '{kind="invalid-local"}', value: 2 },
      { labels: String.raw`{kind="say \"hi\""}`, value: 1 },
      { labels: String.raw`{kind="two\nlines"}`, value: 4 },
    ]);
  });

  test('the line checker itself rejects malformed output', () => {
    expect(() => parseMetrics('x_total 1\n')).toThrow(/before HELP and TYPE/);
    expect(() => parseMetrics('# HELP x h\n# TYPE x gauge\nx{kind="a"b"} 1\n')).toThrow(/not a sample/);
    expect(() => parseMetrics('# HELP x h\n# TYPE x gauge\nx 1\n# HELP x again\n')).toThrow(/after samples/);
  });
});

describe('routing', () => {
  test.each(['/', '/health', '/healthz/', '/metrics.json', '/STATUS'])('%s -> 404', async (path) => {
    const base = await serve(() => makeStatus());
    expect((await fetch(`${base}${path}`)).status).toBe(404);
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s -> 405 with allow', async (method) => {
    const base = await serve(() => makeStatus());
    const response = await fetch(`${base}/healthz`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  test.each(['/healthz', '/readyz', '/status', '/metrics'])('HEAD %s has headers and no body', async (path) => {
    const base = await serve(() => makeStatus());
    const response = await fetch(`${base}${path}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await response.text()).toBe('');
  });

  test.each(['/readyz', '/status', '/metrics'])('%s -> 500 without the cause when the getter throws', async (path) => {
    const base = await serve(() => {
      throw new Error('cannot read /secret/place: sk-ant-oat01-secret');
    });
    const response = await fetch(`${base}${path}`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toBe('internal error\n');
  });

  test('hands the cause to onError', async () => {
    const seen: unknown[] = [];
    const failure = new Error('boom');
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      status: () => {
        throw failure;
      },
      onError: (error) => seen.push(error),
    });
    await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(seen).toEqual([failure]);
  });
});

describe('close', () => {
  test('resolves promptly with an idle keep-alive connection open', async () => {
    const base = await serve(() => makeStatus());
    const agent = new Agent({ keepAlive: true });
    try {
      // Wrapped in an object: resolving with a bare promise would wait for the socket to close.
      const { socketClosed } = await new Promise<{ socketClosed: Promise<void> }>((resolve, reject) => {
        const req = request(`${base}/status`, { agent }, (response) => {
          const closed = new Promise<void>((done) => response.socket.once('close', () => done()));
          response.resume();
          // The agent pools the socket only after 'end' has been handled.
          response.on('end', () => setImmediate(() => resolve({ socketClosed: closed })));
        });
        req.on('error', reject);
        req.end();
      });
      // The socket stays open in the agent's pool, the usual state of a Prometheus scraper between scrapes.
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
      const started = Date.now();
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 2000).unref());
      expect(await Promise.race([server?.close().then(() => 'closed'), timeout])).toBe('closed');
      expect(Date.now() - started).toBeLessThan(1000);
      await socketClosed;
    } finally {
      agent.destroy();
    }
  });

  test('resolves promptly while a client is stuck half-way through its request', async () => {
    await serve(() => makeStatus());
    const socket = connect(server?.port ?? 0, '127.0.0.1');
    try {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // Headers never finished: not idle, so only closeAllConnections() ends it before headersTimeout.
      socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 2000).unref());
      expect(await Promise.race([server?.close().then(() => 'closed'), timeout])).toBe('closed');
      await closed;
    } finally {
      socket.destroy();
    }
  });

  test('can be called twice', async () => {
    await serve(() => makeStatus());
    await Promise.all([server?.close(), server?.close()]);
    await server?.close();
  });

  test('rejects when the port is taken', async () => {
    await serve(() => makeStatus());
    await expect(startHealthServer({ host: '127.0.0.1', port: server?.port ?? 0, status: makeStatus })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});
