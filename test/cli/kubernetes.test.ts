import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startFakeKubernetes, type RunningFakeKubernetes } from '../fakes/kubernetes-api.js';
import { fatalMessage, runCli, type CliOptions } from '../support/cli.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { sameLogin } from '../support/sync-harness.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

/**
 * What the shared cloud table does not cover for --provider kubernetes, with the real CLI as a process:
 * the operator's push through a kubeconfig, RBAC refusals of create, a Secret without the key, --dry-run
 * with no cluster at all, and a sidecar that keeps writing back while its service account token rotates.
 */
const HOUR = 3600_000;
let fake: RunningFakeKubernetes;
let counter = 0;
const tempDir = useTempDir('claude-creds-k8s-cli-');
const secretName = () => `claude-credentials-${(counter += 1)}`;
/** Outside any pod: no in-cluster variables, only what the test gives. */
const OUTSIDE = { KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined };

beforeAll(async () => {
  fake = await startFakeKubernetes();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.faults.reset();
  fake.grant(fake.serviceAccountUser, { get: ['*'], update: ['*'], create: true });
});

const cli = (args: string[], options: CliOptions = {}) =>
  runCli([...args, '--provider', 'kubernetes', '--timeout', '20s'], { ...options, env: { ...fake.cliEnv, ...options.env } });

function expectNoKubernetesCredentials(output: string): void {
  for (const secret of fake.secrets) expect(output).not.toContain(secret.slice(0, 60));
}

describe('claude-creds --provider kubernetes (as a process)', () => {
  test('an operator pushes through a kubeconfig (creating the Secret, labelled), and a pod fetches it in-cluster', async () => {
    const dir = tempDir();
    const name = secretName();
    const login = makeFakeCredentials();
    writeFileSync(join(dir, 'login.json'), login.json);
    const kubeconfig = await fake.kubeconfig({ kind: 'token', token: fake.issueToken('operator@example.com') }, { namespace: 'claude' });

    const pushed = await cli(['push', '--secret', name, '--from', join(dir, 'login.json')], { env: { ...OUTSIDE, KUBECONFIG: kubeconfig } });

    expect(pushed.code, pushed.stderr).toBe(0);
    expect(fake.requests.filter((r) => r.method === 'POST').at(-1)).toMatchObject({ user: 'operator@example.com', status: 201 });
    expect((fake.secretOf(name)?.metadata as { labels: unknown }).labels).toEqual({ 'app.kubernetes.io/managed-by': 'claude-creds' });
    const out = join(dir, 'pod', '.credentials.json');
    const fetched = await cli(['fetch', '--secret', `claude/${name}`, '--out', out]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(login.json);
    expectNoKubernetesCredentials(pushed.stderr + fetched.stderr);
  });

  test('push where create is not granted: exit 77, saying create cannot be limited by name and how to create the Secret instead', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'login.json'), makeFakeCredentials().json);
    fake.grant(fake.serviceAccountUser, { get: ['*'], update: ['*'] });

    const result = await cli(['push', '--secret', `claude/${secretName()}`, '--from', join(dir, 'login.json')]);

    expect(result.code).toBe(77);
    expect(fatalMessage(result.stderr)).toContain('cannot create secrets');
    expect(fatalMessage(result.stderr)).toContain('create cannot be limited to one name');
    expect(fatalMessage(result.stderr)).toContain('kubectl create secret generic');
    expect(result.stderr).not.toMatch(/retrying/);
  });

  test('a Secret without the key: exit 66 naming the keys it has', async () => {
    const name = secretName();
    fake.putSecret(name, { 'login.json': makeFakeCredentials().json });

    const result = await cli(['fetch', '--secret', `claude/${name}`, '--out', join(tempDir(), 'c.json')]);

    expect(result.code).toBe(66);
    expect(fatalMessage(result.stderr)).toContain(`has no key "credentials.json" (its keys: login.json)`);
  });

  test('--dry-run needs no cluster: it names the Secret and how the connection will be found', async () => {
    const result = await cli(['sidecar', '--dry-run', '--secret', 'claude/claude-credentials', '--refresh-before', '30m', '--worker-copy', 'access-only'], {
      env: { ...OUTSIDE, HOME: tempDir() },
    });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('kubernetes secret claude/claude-credentials#credentials.json (kubeconfig ~/.kube/config)');
    expect(fake.requests.filter((r) => r.path.endsWith('/claude-credentials'))).toEqual([]);
  });

  test('a sidecar writes back the CLI\'s refreshed login across a service account token rotation, and pulls newer ones', async () => {
    const dir = tempDir();
    const name = secretName();
    fake.putSecret(name, { 'credentials.json': makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json });
    const local = join(dir, 'worker', '.credentials.json');
    const refreshed = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    const newer = makeFakeCredentials({ expiresAt: Date.now() + 9 * HOUR });
    const steps: string[] = [];
    const waitUntil = async (check: () => boolean, what: string) => {
      const started = Date.now();
      while (!check()) {
        if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      steps.push(what);
    };
    const read = () => {
      try {
        return readFileSync(local, 'utf8');
      } catch {
        return '';
      }
    };

    // 1s: the shortest pull interval the CLI takes (each pull is a billed store read); 300ms is refused now.
    const result = await cli(['sidecar', '--secret', `claude/${name}`, '--out', local, '--pull-interval', '1s'], {
      env: { CLAUDE_CONFIG_DIR: join(dir, 'worker') },
      timeoutMs: 30_000,
      onSpawn: (child: ChildProcess) => {
        void (async () => {
          await waitUntil(() => read() !== '', 'the first fetch');
          await fake.rotateToken(); // the old token stops working at once
          await writeLikeClaudeCli(local, refreshed.json);
          await waitUntil(() => sameLogin(fake.valueOf(name), refreshed.json), 'the refreshed login in the Secret');
          fake.putSecret(name, { 'credentials.json': newer.json });
          await waitUntil(() => read() === newer.json, 'the newer login pulled into the file');
          child.kill('SIGTERM');
        })().catch((error: unknown) => {
          steps.push(`error: ${String(error)}`);
          child.kill('SIGKILL');
        });
      },
    });

    expect(steps).toEqual(['the first fetch', 'the refreshed login in the Secret', 'the newer login pulled into the file']);
    expect(result.code, result.stderr).toBe(0);
    expect(fake.requests.filter((r) => r.path.endsWith(`/${name}`) && r.status === 401)).toEqual([]);
    expectNoKubernetesCredentials(result.stderr);
  });
});
