import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, test } from 'vitest';
import { ConfigError, PermissionDeniedError } from '../../../src/core/errors.js';
import { parseSecretRef } from '../../../src/providers/kubernetes/index.js';
import { writeExecPlugin } from '../../fakes/kubernetes-kubeconfig.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { useTempDir } from '../../support/temp-dir.js';
import { caught, expectNoLeak, useFakeKubernetes } from './support.js';

const k8s = useFakeKubernetes();
const tempDir = useTempDir('claude-creds-k8s-conn-');
/** No in-cluster variables: only the kubeconfig counts. */
const OUTSIDE = { KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined };

function seed(namespace = 'claude') {
  const name = k8s.uniqueName();
  const creds = makeFakeCredentials();
  k8s.fake().putSecret(name, { 'credentials.json': creds.json }, { namespace });
  return { name, creds };
}

describe('--secret [namespace/]name[#key]', () => {
  test.each([
    ['claude-credentials', { namespace: undefined, name: 'claude-credentials', key: 'credentials.json' }],
    ['team-a/claude-credentials', { namespace: 'team-a', name: 'claude-credentials', key: 'credentials.json' }],
    ['team-a/claude.credentials#creds_v2.json', { namespace: 'team-a', name: 'claude.credentials', key: 'creds_v2.json' }],
  ])('%s', (secret, expected) => {
    expect(parseSecretRef(secret)).toEqual(expected);
  });

  test.each([
    ['', /no Kubernetes Secret given/],
    ['a/b/c', /is not \[namespace\/\]name\[#key\]/],
    ['Claude-Credentials', /is not a Secret name/],
    ['team_a/claude', /"team_a" is not a namespace name/],
    ['claude#', /is not a Secret data key/],
    ['claude#a/b', /is not a Secret data key/],
  ])('%j is refused', (secret, message) => {
    expect(() => parseSecretRef(secret)).toThrow(ConfigError);
    expect(() => parseSecretRef(secret)).toThrow(message);
  });
});

describe('in-cluster', () => {
  test('the service account token is read again for every call: a rotated token is used at once', async () => {
    const { name, creds } = seed();
    const provider = await k8s.providerFor(name);
    expect((await provider.read()).payload).toBe(creds.json);

    // The fake revokes the old token as it writes the new one: only a re-read can succeed.
    await k8s.fake().rotateToken();
    const next = makeFakeCredentials();
    const { version } = await provider.read();
    await provider.write({ payload: next.json, expectedVersion: version });
    await k8s.fake().rotateToken();

    expect((await provider.read()).payload).toBe(next.json);
    expect(k8s.fake().requests.slice(-4).map((r) => `${r.operation} ${r.status} ${r.user}`)).toEqual([
      'get-secret 200 system:serviceaccount:claude:claude-worker',
      'get-secret 200 system:serviceaccount:claude:claude-worker',
      'update-secret 200 system:serviceaccount:claude:claude-worker',
      'get-secret 200 system:serviceaccount:claude:claude-worker',
    ]);
  });

  test('no token file in a pod is a ConfigError naming the path, at the first call and not at creation (--dry-run)', async () => {
    const dir = tempDir();
    const provider = await k8s.providerFor(k8s.uniqueName(), { env: { CLAUDE_CREDS_KUBERNETES_SA_DIR: dir } });
    expect(provider.location).toContain('else in-cluster service account');

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`no service account token at ${join(dir, 'token')}`);
    expect(error.message).toContain('automountServiceAccountToken');
  });

  test('neither in a pod nor a kubeconfig: a ConfigError that says both', async () => {
    const provider = await k8s.providerFor(k8s.uniqueName(), { env: { ...OUTSIDE, HOME: tempDir() } });

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/not in a pod \(KUBERNETES_SERVICE_HOST\/KUBERNETES_SERVICE_PORT unset\) and no kubeconfig \(.*\.kube\/config does not exist\)/);
  });

  test('--endpoint and --ca-file replace the server and the CA', async () => {
    const { name, creds } = seed();
    const provider = await k8s.providerFor(name, {
      endpoint: `https://localhost:${k8s.fake().port}`,
      caFile: k8s.fake().caFile,
      env: { KUBERNETES_SERVICE_PORT: '1' },
    });
    expect((await provider.read()).payload).toBe(creds.json);
    expect(provider.location).toContain(`at https://localhost:${k8s.fake().port}`);
  });

  test('plain http to a network address is refused: tokens go over https only', async () => {
    const provider = await k8s.providerFor(k8s.uniqueName(), { endpoint: 'http://10.0.0.1:8080' });
    const error = await caught(provider.read());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('sends credentials over https only');
  });
});

describe('kubeconfig', () => {
  test('KUBECONFIG wins over in-cluster; a token user; the context namespace for a --secret without one', async () => {
    const { name, creds } = seed('team-a');
    const token = k8s.fake().issueToken('alice');
    const kubeconfig = await k8s.fake().kubeconfig({ kind: 'token', token }, { namespace: 'team-a' });

    const provider = await k8s.providerFor(name, { secret: name, env: { KUBECONFIG: kubeconfig } });

    expect((await provider.read()).payload).toBe(creds.json);
    expect(k8s.fake().requests.at(-1)).toMatchObject({ user: 'alice', path: `/api/v1/namespaces/team-a/secrets/${name}` });
    expect(provider.location).toBe(`kubernetes secret team-a/${name}#credentials.json at ${k8s.fake().url}`);
  });

  test('tokenFile is read again for every call', async () => {
    const { name } = seed();
    const dir = tempDir();
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, k8s.fake().issueToken('bob'));
    const kubeconfig = await k8s.fake().kubeconfig({ kind: 'token-file', path: tokenPath });
    const provider = await k8s.providerFor(name, { env: { ...OUTSIDE, KUBECONFIG: kubeconfig } });
    await provider.read();

    writeFileSync(tokenPath, k8s.fake().issueToken('carol'));
    await provider.read();

    expect(k8s.fake().requests.slice(-2).map((r) => r.user)).toEqual(['bob', 'carol']);
  });

  test.each([true, false])('a client certificate and key (inline data: %s; else files relative to the kubeconfig), and a CA file relative to it', async (inline) => {
    const { name, creds } = seed();
    const certificate = await k8s.fake().issueClientCertificate(`dave-${String(inline)}`);
    const kubeconfig = await k8s.fake().kubeconfig({ kind: 'client-certificate', ...certificate, inline }, { embedCa: false });

    const provider = await k8s.providerFor(name, { env: { ...OUTSIDE, KUBECONFIG: kubeconfig } });

    expect((await provider.read()).payload).toBe(creds.json);
    expect(k8s.fake().requests.at(-1)?.user).toBe(`dave-${String(inline)}`);
  });

  test('a KUBECONFIG list is merged as kubectl merges it: missing files skipped, the first definition of a name wins', async () => {
    const { name } = seed();
    const dir = tempDir();
    const good = k8s.fake().issueToken('erin');
    const real = await k8s.fake().kubeconfig({ kind: 'token', token: k8s.fake().issueToken('mallory') });
    const first = join(dir, 'first.yaml');
    writeFileSync(first, stringify({ 'current-context': 'fake', users: [{ name: 'fake-user', user: { token: good } }] }));

    const provider = await k8s.providerFor(name, { env: { ...OUTSIDE, KUBECONFIG: [join(dir, 'missing.yaml'), first, real].join(':') } });
    await provider.read();

    expect(k8s.fake().requests.at(-1)?.user).toBe('erin');
  });

  test('a kubeconfig without a current-context falls back to in-cluster, as kubectl does', async () => {
    const { name, creds } = seed();
    const dir = tempDir();
    mkdirSync(join(dir, '.kube'));
    writeFileSync(join(dir, '.kube', 'config'), stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }));

    const provider = await k8s.providerFor(name, { env: { HOME: dir } });

    expect((await provider.read()).payload).toBe(creds.json);
    expect(k8s.fake().requests.at(-1)?.user).toBe(k8s.fake().serviceAccountUser);
  });

  test.each([
    ['insecure-skip-tls-verify', { cluster: { 'insecure-skip-tls-verify': true } }, /sets insecure-skip-tls-verify; claude-creds never sends credentials to an unverified server/],
    ['proxy-url', { cluster: { 'proxy-url': 'http://proxy:3128' } }, /sets proxy-url, which claude-creds does not support/],
    ['an auth-provider', { user: { 'auth-provider': { name: 'gcp' } } }, /uses the auth-provider "gcp", removed from kubectl; switch to its exec plugin/],
    ['basic auth', { user: { username: 'admin', password: 'FAKE-password' } }, /uses basic auth/],
    ['an interactive exec plugin', { user: { token: undefined, exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'kubelogin', interactiveMode: 'Always' } } }, /needs an interactive terminal/],
    ['an unknown current-context', { context: 'nope' }, /current-context "nope" is not among its contexts/],
  ])('%s is refused with a ConfigError that says why', async (_what, change, message) => {
    const dir = tempDir();
    const path = join(dir, 'config.yaml');
    const document = {
      clusters: [{ name: 'c', cluster: { server: k8s.fake().url, 'certificate-authority': k8s.fake().caFile, ...(change as { cluster?: object }).cluster } }],
      users: [{ name: 'u', user: { token: 'FAKE-token', ...(change as { user?: object }).user } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': (change as { context?: string }).context ?? 'ctx',
    };
    writeFileSync(path, stringify(document));
    const provider = await k8s.providerFor(k8s.uniqueName(), { env: { KUBECONFIG: path } });

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('FAKE-password');
  });
});

describe('exec credential plugins (aws eks get-token, gke-gcloud-auth-plugin)', () => {
  test('runs the plugin non-interactively with the cluster info and its env, and reuses a credential without expiry', async () => {
    const { name, creds } = seed();
    const plugin = writeExecPlugin(tempDir(), { token: k8s.fake().issueToken('frank') });
    const kubeconfig = await k8s.fake().kubeconfig({ kind: 'exec', plugin });
    const provider = await k8s.providerFor(name, { env: { ...OUTSIDE, KUBECONFIG: kubeconfig } });

    expect((await provider.read()).payload).toBe(creds.json);
    await provider.read();

    expect(plugin.runs()).toBe(1);
    expect(k8s.fake().requests.at(-1)?.user).toBe('frank');
    expect(plugin.lastRun()).toEqual({
      pluginEnv: 'kubeconfig-env',
      execInfo: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        kind: 'ExecCredential',
        spec: { interactive: false, cluster: expect.objectContaining({ server: k8s.fake().url, 'certificate-authority-data': expect.any(String) }) },
      },
    });
  });

  test('runs it again once the credential expires, and once more after a 401', async () => {
    const { name } = seed();
    const first = k8s.fake().issueToken('grace');
    const plugin = writeExecPlugin(tempDir(), { token: first, expiresInMs: 30_000, apiVersion: 'client.authentication.k8s.io/v1' });
    const kubeconfig = await k8s.fake().kubeconfig({ kind: 'exec', plugin, apiVersion: 'client.authentication.k8s.io/v1' });
    let now = Date.now();
    const provider = await k8s.providerFor(name, { env: { ...OUTSIDE, KUBECONFIG: kubeconfig } }, { now: () => now });
    await provider.read();
    await provider.read();
    expect(plugin.runs()).toBe(1);

    now += 60_000; // past its expirationTimestamp
    await provider.read();
    expect(plugin.runs()).toBe(2);

    now = Date.now(); // the credential from run 2 is fresh, but the server has revoked it
    k8s.fake().revoke(first);
    plugin.setToken(k8s.fake().issueToken('grace'));
    await provider.read();
    expect(plugin.runs()).toBe(3);
    expect(k8s.fake().requests.slice(-2).map((r) => r.status)).toEqual([401, 200]);
  });

  test('a failing plugin is a PermissionDeniedError with its first line of stderr, never the token', async () => {
    const plugin = writeExecPlugin(tempDir(), { token: 'unused', fail: 'error: the SSO session has expired (token eyJhbGciOi.FAKEpart.sig)' });
    const kubeconfig = await k8s.fake().kubeconfig({ kind: 'exec', plugin });
    const provider = await k8s.providerFor(k8s.uniqueName(), { env: { ...OUTSIDE, KUBECONFIG: kubeconfig } });

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toMatch(/exec credential plugin ".+" failed \(exit 1: error: the SSO session has expired \(token \[redacted\]\)\)/);
    expectNoLeak(error, k8s.fake());
  });

  test('a plugin that is not installed is a ConfigError with the kubeconfig\'s installHint', async () => {
    const dir = tempDir();
    const plugin = { command: 'gke-gcloud-auth-plugin-not-installed', args: [], runs: () => 0, lastRun: () => undefined, setToken: () => undefined };
    const kubeconfig = await k8s.fake().kubeconfig({ kind: 'exec', plugin, extra: { installHint: 'Install gke-gcloud-auth-plugin with gcloud components install' } });
    const provider = await k8s.providerFor(k8s.uniqueName(), { env: { ...OUTSIDE, KUBECONFIG: kubeconfig, PATH: dir } });

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('"gke-gcloud-auth-plugin-not-installed" was not found on PATH (Install gke-gcloud-auth-plugin with gcloud components install)');
  });
});
