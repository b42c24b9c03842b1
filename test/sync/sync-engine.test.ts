import { existsSync, mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../src/core/credentials.js';
import { refreshOAuthTokens } from '../../src/oauth/refresh-client.js';
import { createAwsProvider } from '../../src/providers/aws/index.js';
import { createFileProvider } from '../../src/providers/file/index.js';
import type { Provider, ProviderConfig } from '../../src/core/provider.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { SyncEngine, type SyncSettings } from '../../src/sync/sync-engine.js';
import { createGcpProvider } from '../../src/providers/gcp/index.js';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeGcp, type RunningFakeGcp } from '../fakes/gcp-secret-manager.js';
import { startFakeOAuthServer, type FakeOAuthServer } from '../fakes/oauth-server.js';
import { writeInPlace, writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { HOUR, expiresAtOf as payloadExpiresAt, loginOf, sameLogin, sleep, syncSettings, testContext, waitFor } from '../support/sync-harness.js';

// This file's copies include access-only ones, so expiries are read without requiring a refresh token.
const expiresAtOf = (value: string | Uint8Array | undefined): number => payloadExpiresAt(value, false);

let aws: RunningFakeAws;
const engines: SyncEngine[] = [];
let secretCounter = 0;

beforeAll(async () => {
  Object.assign(process.env, FAKE_AWS_ENV);
  aws = await startFakeAws();
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.stop(2000)));
  aws.faults.reset();
});
afterAll(async () => {
  await aws.close();
});

interface StoreUnderTest {
  readonly name: string;
  /** A fresh secret in the store; returns a provider factory and store accessors. */
  create(dir: string): Promise<{
    provider: () => Promise<Provider>;
    put: (json: string) => void;
    current: () => string | undefined;
    versions: () => number;
  }>;
}

const stores: StoreUnderTest[] = [
  {
    name: 'aws',
    async create() {
      const name = `sync-${(secretCounter += 1)}`;
      const key = aws.storeKey(name);
      const config: ProviderConfig = aws.providerConfig(name);
      return {
        provider: () => createAwsProvider(config),
        put: (json) => void aws.store.addVersion(key, json),
        current: () => {
          const value = aws.store.current(key)?.value;
          return value === undefined ? undefined : typeof value === 'string' ? value : Buffer.from(value).toString();
        },
        versions: () => aws.store.get(key)?.versions.length ?? 0,
      };
    },
  },
  {
    name: 'file',
    async create(dir) {
      const path = join(dir, 'shared', 'store.json');
      const config: ProviderConfig = { name: 'file', secret: path, region: undefined, endpoint: undefined, project: undefined, vaultUrl: undefined, caFile: undefined, env: {} };
      let writes = 0;
      return {
        provider: async () => {
          const provider = await createFileProvider(config);
          return { ...provider, write: async (...args: Parameters<Provider['write']>) => {
            const outcome = await provider.write(...args);
            writes += 1;
            return outcome;
          } };
        },
        put: (json) => {
          mkdirSync(join(dir, 'shared'), { recursive: true });
          writeFileSync(path, json);
          writes += 1;
        },
        current: () => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
        versions: () => writes,
      };
    },
  },
];

describe.each(stores)('sync with the $name store', (storeKind) => {
  const tempDir = useTempDir('claude-creds-sync-');

  async function startEngine(localPath: string, provider: Provider, overrides: Partial<SyncSettings> = {}): Promise<SyncEngine> {
    const engine = new SyncEngine(provider, syncSettings(localPath, overrides), testContext());
    engines.push(engine);
    await engine.start();
    return engine;
  }

  test('fetches at start, then pushes a CLI-style rewrite (locks, temp file, rename) within 1 s', async () => {
    const dir = tempDir();
    const store = await storeKind.create(dir);
    const first = makeFakeCredentials({ expiresAt: Date.now() + HOUR });
    store.put(first.json);
    const local = join(dir, 'worker', '.credentials.json');
    await startEngine(local, await store.provider());
    expect(readFileSync(local, 'utf8')).toBe(first.json);

    const refreshed = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR, extraOAuth: { rateLimitTier: 'default' } });
    await writeLikeClaudeCli(local, refreshed.json);
    const latency = await waitFor(() => sameLogin(store.current(), refreshed.json), 1000, 'the store to hold the refreshed token');
    console.log(`${storeKind.name}: CLI-style rewrite reached the store in ${latency} ms`);
  });

  test('pushes an in-place rewrite within 1 s', async () => {
    const dir = tempDir();
    const store = await storeKind.create(dir);
    store.put(makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json);
    const local = join(dir, 'worker', '.credentials.json');
    await startEngine(local, await store.provider());
    const refreshed = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    writeInPlace(local, refreshed.json);
    const latency = await waitFor(() => sameLogin(store.current(), refreshed.json), 1000, 'the store to hold the rewritten token');
    console.log(`${storeKind.name}: in-place rewrite reached the store in ${latency} ms`);
  });

  test('a newer store version reaches the local file within one pull interval', async () => {
    const dir = tempDir();
    const store = await storeKind.create(dir);
    store.put(makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json);
    const local = join(dir, 'worker', '.credentials.json');
    const pullIntervalMs = 400;
    await startEngine(local, await store.provider(), { pullIntervalMs });
    const newer = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    store.put(newer.json);
    const latency = await waitFor(() => readFileSync(local, 'utf8') === newer.json, pullIntervalMs + 300, 'the local file to be updated');
    console.log(`${storeKind.name}: store-to-file latency ${latency} ms with a ${pullIntervalMs} ms pull interval`);
  });

  test.each([
    ['an older token', () => makeFakeCredentials({ expiresAt: Date.now() + 60_000 }).json],
    ['a blanked file (invalid_grant)', () => '{"claudeAiOauth":{"accessToken":"","refreshToken":"","expiresAt":0}}'],
    ['an empty file', () => ''],
  ])('never pushes %s', async (_name, content) => {
    const dir = tempDir();
    const store = await storeKind.create(dir);
    const good = makeFakeCredentials({ expiresAt: Date.now() + 4 * HOUR });
    store.put(good.json);
    const local = join(dir, 'worker', '.credentials.json');
    const engine = await startEngine(local, await store.provider());
    const versionsBefore = store.versions();
    writeInPlace(local, content());
    await sleep(300);
    await engine.idle();
    expect(loginOf(store.current())).toEqual(loginOf(good.json));
    expect(store.versions()).toBe(versionsBefore);
  });

  test('waits for a lock the CLI holds before writing, and writes under the locks', async () => {
    const dir = tempDir();
    const store = await storeKind.create(dir);
    store.put(makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json);
    const configDir = join(dir, 'worker');
    const local = join(configDir, '.credentials.json');
    const engine = await startEngine(local, await store.provider());

    const release = await lockfile.lock(join(configDir, '.oauth_refresh'), { lockfilePath: join(configDir, '.oauth_refresh.lock'), realpath: false });
    const newer = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    store.put(newer.json);
    const pulled = engine.pullNow();
    await sleep(600);
    expect(readFileSync(local, 'utf8')).not.toBe(newer.json); // the CLI holds the lock: no write yet

    // The names the directory saw change. claude-creds takes, writes and releases its locks within one
    // turn of this process's event loop (its file-system calls are made in place), so a look at the
    // lock when the watcher reports comes too late; what the events show cannot be missed: our release
    // (one change of the lock), then claude-creds creating and removing it, with its owner record.
    const names: string[] = [];
    const watcher = watch(configDir, (_event, name) => {
      if (name !== null) names.push(name);
    });
    await release();
    await pulled;
    await sleep(100); // let the last events arrive
    watcher.close();
    expect(readFileSync(local, 'utf8')).toBe(newer.json);
    expect(names.filter((name) => name === '.oauth_refresh.lock').length).toBeGreaterThanOrEqual(3);
    expect(names).toContain('.oauth_refresh.lock.owner'); // claude-creds recorded itself as the lock's holder
    expect(existsSync(join(configDir, '.oauth_refresh.lock'))).toBe(false);
    expect(existsSync(`${configDir}.lock`)).toBe(false);
  });

  test('an access-only worker copy holds the access token and expiry but no refresh token', async () => {
    const dir = tempDir();
    const store = await storeKind.create(dir);
    const login = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    store.put(login.json);
    const local = join(dir, 'worker', '.credentials.json');
    await startEngine(local, await store.provider(), { accessOnly: true });
    const text = readFileSync(local, 'utf8');
    expect(text).toContain(login.accessToken);
    expect(text).not.toContain(login.refreshToken);
    expect(JSON.parse(text).claudeAiOauth).not.toHaveProperty('refreshToken');
    expect(JSON.parse(text).claudeAiOauth.expiresAt).toBe(login.expiresAt);
    expect(loginOf(store.current())).toEqual(loginOf(login.json)); // the store keeps the full login
  });

  test.each([2, 10])('%i sidecars with overlapping CLI refreshes converge on the newest token, the store never going back', async (count) => {
    const dir = tempDir();
    const store = await storeKind.create(dir);
    const base = Date.now() + HOUR;
    store.put(makeFakeCredentials({ expiresAt: base }).json);
    const provider = await store.provider();
    const pullIntervalMs = 300;
    const locals = Array.from({ length: count }, (_, i) => join(dir, `worker-${i}`, '.credentials.json'));
    for (const local of locals) await startEngine(local, provider, { pullIntervalMs });

    let storeWentBack = false;
    let lastSeen = -1;
    const observer = setInterval(() => {
      const seen = expiresAtOf(store.current());
      if (seen < lastSeen) storeWentBack = true;
      lastSeen = Math.max(lastSeen, seen);
    }, 2);

    let newest = base;
    const rounds = 6;
    for (let round = 1; round <= rounds; round += 1) {
      // Several workers "refresh" at once, with different expiries, so pushes overlap and conflict.
      const writers = locals.filter(() => Math.random() < 0.5).slice(0, Math.max(2, Math.floor(count / 2)));
      await Promise.all(
        writers.map((local, i) => {
          const expiresAt = base + round * 1000 + i * 7 + Math.floor(Math.random() * 5);
          newest = Math.max(newest, expiresAt);
          return writeLikeClaudeCli(local, makeFakeCredentials({ expiresAt }).json);
        }),
      );
      await sleep(80);
    }
    const settled = await waitFor(
      () => expiresAtOf(store.current()) === newest && locals.every((local) => expiresAtOf(readFileSync(local)) === newest),
      pullIntervalMs + 2000,
      'the store and every local file to hold the newest token',
    );
    clearInterval(observer);
    expect(storeWentBack).toBe(false);
    console.log(`${storeKind.name}: ${count} sidecars, ${rounds} rounds of overlapping refreshes converged ${settled} ms after the last write`);
  }, 30_000);
});

describe('proactive refresh over consecutive windows', () => {
  const tempDir = useTempDir('claude-creds-windows-');

  test('3 sidecars through two expiry windows: exactly one refresh in each, never a reused refresh token', async () => {
    const oauth = await startFakeOAuthServer({ expiresInSeconds: 2.5 });
    try {
      const name = `windows-${(secretCounter += 1)}`;
      const login = oauth.issueLogin({ expiresInMs: 1500 });
      aws.store.addVersion(aws.storeKey(name), login.json);
      const locals = Array.from({ length: 3 }, (_, i) => join(tempDir(), `w${i}`, '.credentials.json'));
      for (const local of locals) {
        const engine = new SyncEngine(
          await createAwsProvider(aws.providerConfig(name)),
          syncSettings(local, {
            pullIntervalMs: 300,
            refresh: {
              beforeMs: 1000,
              jitterMs: 200,
              leaseMs: 10_000,
              oauth: oauth.settings,
              refresh: (token, call) => refreshOAuthTokens(token, oauth.settings, { now: Date.now, ...call }),
            },
          }),
          testContext(),
        );
        engines.push(engine);
        await engine.start();
      }
      // Window 1 is due ~0.5 s in; its token lives 2.5 s, so window 2 is due ~1.5 s after, window 3 ~1.5 s after that.
      await waitFor(() => oauth.refreshCount() === 1, 3000, 'the first refresh');
      const first = Date.now();
      await waitFor(() => oauth.refreshCount() === 2, 3000, 'the second refresh');
      const gap = Date.now() - first;
      await sleep(400); // a duplicate in window 2 would show up now, well before window 3
      expect(oauth.refreshCount()).toBe(2);
      expect(oauth.requests.filter((request) => !request.accepted)).toEqual([]);
      const latest = parseCredentials(Buffer.from(aws.store.current(aws.storeKey(name))?.value ?? ''));
      await waitFor(() => locals.every((local) => expiresAtOf(readFileSync(local)) === latest.oauth.expiresAt), 1500, 'every worker on the second refresh');
      console.log(`two windows, 3 sidecars: 2 refreshes ${gap} ms apart, 0 rejected token requests`);
    } finally {
      await Promise.all(engines.splice(0).map((engine) => engine.stop(1000)));
      await oauth.close();
    }
  });
});

describe('expiry warnings', () => {
  const tempDir = useTempDir('claude-creds-warn-');

  test('logs one warning per configured threshold the token has crossed, once per token', async () => {
    const dir = tempDir();
    const name = `warn-${(secretCounter += 1)}`;
    aws.store.addVersion(aws.storeKey(name), makeFakeCredentials({ expiresAt: Date.now() + 30 * 60_000 }).json);
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const engine = new SyncEngine(
      await createAwsProvider(aws.providerConfig(name)),
      syncSettings(join(dir, 'w', '.credentials.json'), { warnBeforeMs: [HOUR, 10 * 60_000] }),
      { ...testContext(), logger },
    );
    engines.push(engine);
    await engine.start();
    await engine.pullNow();
    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toHaveLength(1); // the 1h threshold is crossed, the 10m one is not; the second pull repeats nothing
    expect(warnings[0]).toMatch(/^the local access token expires in (29|30)m/);
  });
});

describe('proactive refresh', () => {
  const tempDir = useTempDir('claude-creds-refresh-');
  let oauth: FakeOAuthServer;
  beforeAll(async () => {
    oauth = await startFakeOAuthServer({ expiresInSeconds: 3600 });
  });
  afterAll(async () => {
    await oauth.close();
  });

  let gcp: RunningFakeGcp;
  beforeAll(async () => {
    gcp = await startFakeGcp();
  });
  afterAll(async () => {
    await gcp.close();
  });

  // aws has compare-and-swap; gcp has none, so the lease is claimed, left to settle, and re-checked.
  const refreshStores = [
    { store: 'aws (compare-and-swap)', fake: () => aws as RunningFake, create: (config: ProviderConfig) => createAwsProvider(config) },
    { store: 'gcp (detect-conflict)', fake: () => gcp as RunningFake, create: (config: ProviderConfig) => createGcpProvider(config) },
  ];
  const refreshCases = refreshStores.flatMap((store) => [1, 10].map((count) => ({ ...store, count })));

  test.each(refreshCases)('$store with $count sidecars: exactly one refresh per expiry window, never a reused refresh token', async ({ fake: fakeOf, create, count }) => {
    const fake = fakeOf();
    const dir = tempDir();
    const name = `refresh-${(secretCounter += 1)}`;
    const key = fake.storeKey(name);
    const login = oauth.issueLogin({ expiresInMs: 1500 });
    fake.store.addVersion(key, login.json);
    const before = oauth.refreshCount();
    const requestsBefore = oauth.requests.length;
    const locals = Array.from({ length: count }, (_, i) => join(dir, `worker-${i}`, '.credentials.json'));
    for (const local of locals) {
      const engine = new SyncEngine(
        await create(fake.providerConfig(name)),
        syncSettings(local, {
          pullIntervalMs: 500,
          refresh: {
            beforeMs: 1000,
            jitterMs: 300,
            leaseMs: 10_000,
            oauth: oauth.settings,
            refresh: (token, call) => refreshOAuthTokens(token, oauth.settings, { now: Date.now, ...call }),
          },
        }),
        testContext(),
      );
      engines.push(engine);
      await engine.start();
    }
    await waitFor(() => oauth.refreshCount() > before, 4000, 'a refresh');
    // Everyone converges on the refreshed login, and nobody else refreshes in this window.
    await waitFor(
      () => locals.every((local) => expiresAtOf(readFileSync(local)) > login.expiresAt + 1000 * 1000),
      4000,
      'every worker to receive the refreshed login',
    );
    await sleep(1000);
    expect(oauth.refreshCount() - before).toBe(1);
    const requests = oauth.requests.slice(requestsBefore);
    expect(requests.filter((request) => !request.accepted)).toEqual([]);
    const latest = fake.store.current(key)?.value ?? '';
    const stored = parseCredentials(typeof latest === 'string' ? latest : Buffer.from(latest));
    expect(stored.oauth.refreshToken).not.toBe(login.refreshToken);
    expect(stored.document).not.toHaveProperty('claudeCredsRefreshLease');
    for (const local of locals) expect(readFileSync(local, 'utf8')).not.toContain('claudeCredsRefreshLease');
    console.log(`proactive refresh, ${fake.provider}, ${count} sidecar(s): ${oauth.refreshCount() - before} refresh, ${requests.length} token request(s)`);
  }, 20_000);
});
