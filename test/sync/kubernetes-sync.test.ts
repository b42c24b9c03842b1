import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseCredentials } from '../../src/core/credentials.js';
import { refreshOAuthTokens } from '../../src/oauth/refresh-client.js';
import { createKubernetesProvider } from '../../src/providers/kubernetes/index.js';
import { SyncEngine, type SyncSettings } from '../../src/sync/sync-engine.js';
import { startFakeKubernetes, type RunningFakeKubernetes } from '../fakes/kubernetes-api.js';
import { startFakeOAuthServer, type FakeOAuthServer } from '../fakes/oauth-server.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { HOUR, expiresAtOf as payloadExpiresAt, sleep, syncSettings, testContext, waitFor } from '../support/sync-harness.js';
import { useTempDir } from '../support/temp-dir.js';

/**
 * The sync engine on a Kubernetes Secret: the sidecar, the lease and the single refresher work as on
 * AWS, settled by the API server's resourceVersion compare-and-swap, while the service account token
 * rotates under them.
 */
const expiresAtOf = (value: string | Uint8Array | undefined): number => payloadExpiresAt(value, false);

let k8s: RunningFakeKubernetes;
let oauth: FakeOAuthServer;
const engines: SyncEngine[] = [];
let counter = 0;
const tempDir = useTempDir('claude-creds-k8s-sync-');

beforeAll(async () => {
  k8s = await startFakeKubernetes();
  oauth = await startFakeOAuthServer({ expiresInSeconds: 3600 });
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.stop(2000)));
  k8s.faults.reset();
});
afterAll(async () => {
  await oauth.close();
  await k8s.close();
});

async function startEngine(name: string, localPath: string, overrides: Partial<SyncSettings> = {}): Promise<SyncEngine> {
  const engine = new SyncEngine(await createKubernetesProvider(k8s.providerConfig(name)), syncSettings(localPath, overrides), testContext());
  engines.push(engine);
  await engine.start();
  return engine;
}

const stored = (name: string) => k8s.valueOf(name);

describe('sync with a Kubernetes Secret', () => {
  test('10 sidecars with overlapping CLI refreshes converge on the newest token; the Secret never goes back', async () => {
    const name = `k8s-sync-${(counter += 1)}`;
    const dir = tempDir();
    const base = Date.now() + HOUR;
    k8s.putSecret(name, { 'credentials.json': makeFakeCredentials({ expiresAt: base }).json, 'other-key': 'kept' });
    const locals = Array.from({ length: 10 }, (_, i) => join(dir, `worker-${i}`, '.credentials.json'));
    for (const local of locals) await startEngine(name, local, { pullIntervalMs: 300 });

    let wentBack = false;
    let lastSeen = -1;
    const observer = setInterval(() => {
      const seen = expiresAtOf(stored(name));
      if (seen < lastSeen) wentBack = true;
      lastSeen = Math.max(lastSeen, seen);
    }, 2);
    let newest = base;
    let rotatedAt = 0;
    let generation = 0;
    for (let round = 1; round <= 6; round += 1) {
      const writers = locals.filter(() => Math.random() < 0.5).slice(0, 5);
      await Promise.all(
        writers.map((local, i) => {
          const expiresAt = base + round * 1000 + i * 7;
          newest = Math.max(newest, expiresAt);
          return writeLikeClaudeCli(local, makeFakeCredentials({ expiresAt }).json);
        }),
      );
      if (round === 3) {
        // The kubelet rotates the projected token mid-run; the old one stays valid a moment, as it does.
        rotatedAt = k8s.requests.length;
        generation = k8s.requests.at(-1)?.saToken ?? 0;
        await k8s.rotateToken({ graceMs: 100 });
      }
      await sleep(80);
    }
    await waitFor(
      () => expiresAtOf(stored(name)) === newest && locals.every((local) => expiresAtOf(readFileSync(local)) === newest),
      2500,
      'the Secret and every local file to hold the newest token',
    );
    clearInterval(observer);
    expect(wentBack).toBe(false);
    expect(k8s.valueOf(name, 'other-key')).toBe('kept');
    const ours = k8s.requests.filter((request) => request.path.endsWith(`/${name}`));
    expect(ours.map((request) => request.status)).toContain(409); // the races were real, and settled by compare-and-swap
    expect(ours.filter((request) => request.status === 401)).toEqual([]);
    // After the 100 ms grace only the new token works (no 401 above), and the last call carried it.
    const later = k8s.requests.slice(rotatedAt + 1).filter((request) => request.path.endsWith(`/${name}`));
    expect(later.length).toBeGreaterThan(0);
    expect(later.at(-1)?.saToken).toBe(generation + 1);
  }, 30_000);

  test.each([1, 10])('proactive refresh with %i sidecar(s): exactly one refresh per expiry window, never a reused refresh token', async (count) => {
    const name = `k8s-refresh-${(counter += 1)}`;
    const dir = tempDir();
    const login = oauth.issueLogin({ expiresInMs: 1500 });
    k8s.putSecret(name, { 'credentials.json': login.json });
    const before = oauth.refreshCount();
    const requestsBefore = oauth.requests.length;
    const locals = Array.from({ length: count }, (_, i) => join(dir, `worker-${i}`, '.credentials.json'));
    for (const local of locals) {
      await startEngine(name, local, {
        pullIntervalMs: 500,
        accessOnly: true,
        refresh: {
          beforeMs: 1000,
          jitterMs: 300,
          leaseMs: 10_000,
          oauth: oauth.settings,
          refresh: (token, call) => refreshOAuthTokens(token, oauth.settings, { now: Date.now, ...call }),
        },
      });
    }
    await waitFor(() => oauth.refreshCount() > before, 4000, 'a refresh');
    await waitFor(() => locals.every((local) => expiresAtOf(readFileSync(local)) > login.expiresAt + 1000 * 1000), 4000, 'every worker to receive the refreshed login');
    await sleep(1000);

    expect(oauth.refreshCount() - before).toBe(1);
    expect(oauth.requests.slice(requestsBefore).filter((request) => !request.accepted)).toEqual([]);
    const latest = parseCredentials(stored(name) ?? '');
    expect(latest.oauth.refreshToken).not.toBe(login.refreshToken);
    expect(latest.document).not.toHaveProperty('claudeCredsRefreshLease');
    for (const local of locals) {
      const text = readFileSync(local, 'utf8');
      expect(text).not.toContain('claudeCredsRefreshLease');
      expect(JSON.parse(text).claudeAiOauth).not.toHaveProperty('refreshToken'); // access-only worker copies
    }
  }, 20_000);
});
