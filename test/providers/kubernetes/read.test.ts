import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MAX_PAYLOAD_BYTES, parseCredentials } from '../../../src/core/credentials.js';
import {
  ClaudeCredsError,
  ConfigError,
  InvalidCredentialsError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
} from '../../../src/core/errors.js';
import { MAX_RESPONSE_BYTES } from '../../../src/providers/kubernetes/client.js';
import type { FaultKind } from '../../fakes/faults.js';
import { loopbackCertificate } from '../../fakes/loopback-certificate.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { caught, expectNoLeak, useFakeKubernetes } from './support.js';

const k8s = useFakeKubernetes();

describe('reading', () => {
  test('returns the credentials.json key and the resourceVersion, with the service account token', async () => {
    const name = k8s.uniqueName();
    const creds = makeFakeCredentials();
    const version = k8s.fake().putSecret(name, { 'credentials.json': creds.json });
    const provider = await k8s.providerFor(name);

    const stored = await provider.read();

    expect(stored).toEqual({ payload: creds.json, version });
    expect(provider.name).toBe('kubernetes');
    expect(provider.writes).toBe('compare-and-swap');
    expect(provider.location).toBe(`kubernetes secret claude/${name}#credentials.json at ${k8s.fake().url}`);
    expect(k8s.fake().requests.at(-1)).toMatchObject({
      operation: 'get-secret',
      method: 'GET',
      path: `/api/v1/namespaces/claude/secrets/${name}`,
      user: 'system:serviceaccount:claude:claude-worker',
      status: 200,
    });
  });

  test('a value that is base64 of the JSON is returned as stored, and the core parses it', async () => {
    const name = k8s.uniqueName();
    const creds = makeFakeCredentials();
    k8s.fake().putSecret(name, { 'credentials.json': creds.base64 });

    const stored = await (await k8s.providerFor(name)).read();

    expect(stored.payload).toBe(creds.base64);
    expect(parseCredentials(stored.payload).oauth.refreshToken).toBe(creds.refreshToken);
  });

  test('#key names another key; the namespace defaults to the pod\'s (the service account\'s namespace file)', async () => {
    const name = k8s.uniqueName();
    const creds = makeFakeCredentials();
    k8s.fake().putSecret(name, { claude: creds.json });

    const provider = await k8s.providerFor(name, { secret: `${name}#claude` });

    expect((await provider.read()).payload).toBe(creds.json);
    expect(k8s.fake().requests.at(-1)?.path).toBe(`/api/v1/namespaces/claude/secrets/${name}`);
  });

  test.each([
    ['other keys', { 'other.txt': 'unrelated-value-FAKE', 'token.json': 'another-value-FAKE' }, /its keys: other\.txt, token\.json/],
    ['no keys', {}, /it has no keys/],
  ])('a Secret without the key is a NotFoundError naming the keys it has (%s), never their values', async (_what, data, keys) => {
    const name = k8s.uniqueName();
    k8s.fake().putSecret(name, data);

    const error = await caught((await k8s.providerFor(name)).read());

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`Secret "${name}" in namespace "claude" has no key "credentials.json"`);
    expect(error.message).toMatch(keys);
    expect(error.message).toContain(`--secret claude/${name}#KEY`);
    expect(error.message).not.toMatch(/unrelated-value|another-value/);
  });

  test('a missing Secret is a NotFoundError with the kubectl command that creates it, after one call', async () => {
    const name = k8s.uniqueName();

    const error = await caught((await k8s.providerFor(name)).read());

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`Secret "${name}" in namespace "claude" was not found on ${k8s.fake().url}`);
    expect(error.message).toContain(`kubectl create secret generic ${name} --namespace claude --from-file=credentials.json=$HOME/.claude/.credentials.json`);
    expect(k8s.fake().faults.count('get-secret')).toBe(1);
    expectNoLeak(error, k8s.fake());
  });

  test('a read that outlives its time budget is aborted as a retryable StoreUnavailableError', async () => {
    const name = k8s.uniqueName();
    k8s.fake().putSecret(name, { 'credentials.json': makeFakeCredentials().json });
    k8s.fake().faults.delay(2_000);
    const started = Date.now();

    const error = await caught((await k8s.providerFor(name)).read({ timeoutMs: 100 }));

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toMatch(/did not answer in time/);
  });
});

describe('each failure maps to a typed error with what to do', () => {
  const cases: Array<[FaultKind, new (...args: never[]) => ClaudeCredsError, RegExp, boolean]> = [
    ['throttle', StoreUnavailableError, /is throttling \(429 TooManyRequests: Too many requests/, true],
    ['unavailable', StoreUnavailableError, /failed for now \(503 ServiceUnavailable: the server is currently unable/, true],
    ['internal', StoreUnavailableError, /failed for now \(500 InternalError: Internal error occurred/, true],
    ['reset', StoreUnavailableError, /is unavailable \(ECONNRESET\)/, true],
    ['not-found', NotFoundError, /was not found on .*kubectl create secret generic/, false],
    [
      'denied',
      PermissionDeniedError,
      /^permission denied: User "system:serviceaccount:claude:claude-worker" cannot get secrets "[^"]+" in namespace "claude" \(403 Forbidden\); grant it with: kubectl create role claude-creds --namespace claude --verb=get,update --resource=secrets --resource-name=[^ ]+ && kubectl create rolebinding claude-creds --namespace claude --role=claude-creds --serviceaccount=claude:claude-worker/,
      false,
    ],
  ];

  test.each(cases)('%s', async (kind, type, message, retryable) => {
    const name = k8s.uniqueName();
    const creds = makeFakeCredentials();
    k8s.fake().putSecret(name, { 'credentials.json': creds.json });
    k8s.fake().faults.failNext(1, kind);

    const error = await caught((await k8s.providerFor(name)).read());

    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(message);
    expect((error as ClaudeCredsError).retryable).toBe(retryable);
    expectNoLeak(error, k8s.fake(), [creds]);
  });

  test('a real RBAC refusal names the verb, the Secret, the namespace and the Role limited to that name', async () => {
    const name = k8s.uniqueName();
    k8s.fake().putSecret(name, { 'credentials.json': makeFakeCredentials().json });
    k8s.fake().grant(k8s.fake().serviceAccountUser, { get: ['some-other-secret'] });

    const error = await caught((await k8s.providerFor(name)).read());

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toContain(`cannot get secrets "${name}" in namespace "claude"`);
    expect(error.message).toContain(`--verb=get,update --resource=secrets --resource-name=${name}`);
    expect(error.message).toContain('--serviceaccount=claude:claude-worker');
  });

  test('a token the API server does not accept is a 401 PermissionDeniedError, not retried', async () => {
    const name = k8s.uniqueName();
    k8s.fake().putSecret(name, { 'credentials.json': makeFakeCredentials().json });
    const provider = await k8s.providerFor(name);
    await provider.read();
    k8s.fake().revoke(k8s.fake().currentToken());

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toMatch(/did not accept the credentials of the pod's service account .* \(401 Unauthorized\); the service account token is expired/);
    expectNoLeak(error, k8s.fake());
    await k8s.fake().rotateToken(); // a valid token again for the tests that follow
  });

  test('an API server that does not listen is "unavailable", which the retry policy retries', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const provider = await k8s.providerFor(k8s.uniqueName(), { env: { KUBERNETES_SERVICE_PORT: String(closed) } });

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toBe(`the API server https://127.0.0.1:${closed} is unavailable (ECONNREFUSED)`);
    expect((error as ClaudeCredsError).retryable).toBe(true);
  });

  test('a server certificate the pod\'s ca.crt does not vouch for is a ConfigError naming ca.crt, not retried', async () => {
    const other = await loopbackCertificate('someone else');
    const saDir = join(other.dir, 'sa');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(saDir);
    copyFileSync(join(k8s.fake().saDir, 'token'), join(saDir, 'token'));
    writeFileSync(join(saDir, 'ca.crt'), other.cert);
    const provider = await k8s.providerFor(k8s.uniqueName(), { env: { CLAUDE_CREDS_KUBERNETES_SA_DIR: saDir } });

    const error = await caught(provider.read());

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/TLS certificate is not trusted \(.+\); check the ca\.crt beside the service account token, or pass --ca-file/);
    expectNoLeak(error, k8s.fake());
  });
});

describe('the read is bounded while it streams', () => {
  test.each([
    ['streamed without a length', false],
    ['with a Content-Length over the limit', true],
  ])('a 64 MiB answer (%s) is cut off early: InvalidCredentialsError too-large', async (_what, declareLength) => {
    const name = k8s.uniqueName();
    k8s.fake().serveHuge(64 * 1024 * 1024, declareLength);

    const error = await caught((await k8s.providerFor(name)).read());

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect((error as InvalidCredentialsError).problem).toBe('too-large');
    expect(error.message).toContain(`exceeds ${MAX_RESPONSE_BYTES} bytes`);
    // The client hung up long before the fake could write the whole answer.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const answer = k8s.fake().hugeAnswer;
    expect(answer?.completed).toBe(false);
    expect(answer?.sent ?? Number.POSITIVE_INFINITY).toBeLessThan((answer?.total ?? 0) / 4);
  });

  test('the largest payload the core accepts still fits, as base64 in a Secret', async () => {
    const name = k8s.uniqueName();
    const creds = makeFakeCredentials();
    const padded = JSON.stringify({ ...JSON.parse(creds.json), padding: '' });
    const big = padded.replace('"padding":""', `"padding":"${'p'.repeat(MAX_PAYLOAD_BYTES - Buffer.byteLength(padded))}"`);
    expect(Buffer.byteLength(big)).toBe(MAX_PAYLOAD_BYTES);
    k8s.fake().putSecret(name, { 'credentials.json': big, other: 'x'.repeat(64 * 1024) });

    const stored = await (await k8s.providerFor(name)).read();

    expect(stored.payload).toBe(big);
  });
});
