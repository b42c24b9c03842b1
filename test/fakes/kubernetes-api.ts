/**
 * A wire-level fake of the Kubernetes API server's core/v1 Secrets on 127.0.0.1, over HTTPS with its own
 * CA: GET, PUT (replace, with resourceVersion compare-and-swap) and POST (create) of
 * /api/v1/namespaces/{ns}/secrets[/{name}], answered with real object and `Status` shapes (401, 403,
 * 404, 409 Conflict / AlreadyExists, 422 Invalid, 429 with Retry-After, 500, 503).
 *
 * - Identities: bearer tokens (the service account's, which `rotateToken` replaces in the token file and
 *   revokes at once, so a client that caches it fails; tokens issued for kubeconfig users) and client
 *   certificates (CN = user). RBAC-like grants per user: verbs on resource names, `create` unnamed.
 * - resourceVersion: one counter for the whole server (as etcd's revision), so it changes on every write.
 * - `saDir` is a service account directory (token, ca.crt, namespace) for in-cluster configuration.
 * - The shared FaultInjector runs on every call; operation names `get-secret`, `update-secret`, `create-secret`.
 *
 * Store layout: key `<namespace>/<name>`; a stored value is the Secret object as JSON text (without its
 * resourceVersion). A value that is not a Secret object (a test's `login.json` or `login.base64`) is served as
 * the Secret's `credentials.json` key, so `store.addVersion(storeKey(name), login.json)` works as for other fakes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { ProviderConfig } from '../../src/core/provider.js';
import { FaultInjector, sleep, type FaultKind } from './faults.js';
import { header, readBody } from './http-util.js';
import { writeKubeconfig, type KubeconfigUser } from './kubernetes-kubeconfig.js';
import { loopbackCertificate } from './loopback-certificate.js';
import type { RunningFake } from './running-fake.js';
import { VersionedStore } from './versioned-store.js';

export type KubernetesOperation = 'get-secret' | 'update-secret' | 'create-secret';
type Json = Record<string, unknown>;

/** What a user may do: `get`/`update` on these Secret names (`*` = any), `create` any. Default: everything. */
export interface SecretGrants {
  readonly get?: readonly string[];
  readonly update?: readonly string[];
  readonly create?: boolean;
}
const ALL: SecretGrants = { get: ['*'], update: ['*'], create: true };

export interface FakeKubernetesOptions {
  /** The pod's namespace (saDir/namespace); default `claude`. Namespaces `default` and this one exist. */
  readonly namespace?: string;
  readonly serviceAccount?: string;
  /** Grants of the service account; default everything. */
  readonly grants?: SecretGrants;
  readonly store?: VersionedStore;
  readonly faults?: FaultInjector;
}

export interface SeenKubernetesRequest {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** Who the call authenticated as, or `anonymous`. Never the token. */
  readonly user: string;
  /** Which service account token it carried: 1 for the first, 2 after one rotation...; 0 for anything else. */
  readonly saToken: number;
  readonly status: number;
}

export interface RunningFakeKubernetes extends RunningFake {
  readonly url: string;
  readonly port: number;
  readonly caFile: string;
  /** A service account directory: token, ca.crt, namespace. */
  readonly saDir: string;
  readonly namespace: string;
  /** `system:serviceaccount:<namespace>:<serviceAccount>`. */
  readonly serviceAccountUser: string;
  readonly requests: readonly SeenKubernetesRequest[];
  /** Every token and client key this fake issued, for leak checks. */
  readonly secrets: readonly string[];
  /** The service account token in the token file now. */
  currentToken(): string;
  /**
   * Write a new service account token to saDir/token. The old one is revoked at once (a client that
   * caches it fails), or after `graceMs` as the kubelet's rotation leaves it valid until it expires.
   */
  rotateToken(options?: { graceMs?: number }): Promise<string>;
  /** A token for `user`; `grants` default everything. */
  issueToken(user: string, grants?: SecretGrants): string;
  /** A client certificate and key (PEM) for `user`, trusted by the server from now on. */
  issueClientCertificate(user: string, grants?: SecretGrants): Promise<{ cert: string; key: string }>;
  grant(user: string, grants: SecretGrants): void;
  revoke(token: string): void;
  /** A kubeconfig file for this server with the given user; returns its path. */
  kubeconfig(user: KubeconfigUser, options?: { namespace?: string; embedCa?: boolean }): Promise<string>;
  /** Store a Secret object (data values given as text, stored base64); returns its resourceVersion. */
  putSecret(name: string, data: Record<string, string>, options?: { namespace?: string; labels?: Record<string, string>; immutable?: boolean }): string;
  /** The Secret as stored now (data still base64), or undefined. */
  secretOf(name: string, namespace?: string): Json | undefined;
  /** The decoded text of one key of a stored Secret. */
  valueOf(name: string, key?: string, namespace?: string): string | undefined;
  /** Answer every GET with a Secret of about `bytes` bytes, streamed (`declareLength`: with a Content-Length). */
  serveHuge(bytes: number | undefined, declareLength?: boolean): void;
  /** For the last huge answer: how many bytes were written before the client went away, and whether it ended. */
  readonly hugeAnswer: { sent: number; total: number; completed: boolean } | undefined;
}

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Json = {},
  ) {
    super(message);
  }
}

const statusBody = (error: StatusError): Json => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: error.message,
  reason: error.reason,
  details: error.details,
  code: error.code,
});

export async function startFakeKubernetes(options: FakeKubernetesOptions = {}): Promise<RunningFakeKubernetes> {
  const namespace = options.namespace ?? 'claude';
  const serviceAccount = options.serviceAccount ?? 'claude-worker';
  const serviceAccountUser = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const store = options.store ?? new VersionedStore();
  const faults = options.faults ?? new FaultInjector();
  const namespaces = new Set(['default', 'kube-system', namespace]);
  const certificate = await loopbackCertificate('Kubernetes API', ['kubernetes.default.svc']);
  const dir = certificate.dir;
  const saDir = join(dir, 'serviceaccount');
  const home = await mkdtemp(join(tmpdir(), 'claude-creds-k8s-home-'));
  const tokens = new Map<string, string>(); // token -> user
  const grants = new Map<string, SecretGrants>([[serviceAccountUser, options.grants ?? ALL]]);
  const clientCas: string[] = [];
  const secrets: string[] = [];
  const requests: SeenKubernetesRequest[] = [];
  const versions = new Map<string, string>(); // stored version id -> resourceVersion
  let revision = 1000;
  let saToken = '';
  const saGenerations = new Map<string, number>();
  let huge: { bytes: number; declareLength: boolean } | undefined;
  let hugeAnswer: RunningFakeKubernetes['hugeAnswer'];

  const newToken = (label: string) => {
    const token = `eyJhbGciOiJSUzI1NiJ9.FAKE-K8S-${label}-${randomBytes(18).toString('hex')}.c2lnbmF0dXJlLWZha2U`;
    secrets.push(token);
    return token;
  };
  async function rotateToken(rotation: { graceMs?: number } = {}): Promise<string> {
    const old = saToken;
    if (old !== '') {
      if (rotation.graceMs === undefined) tokens.delete(old);
      else setTimeout(() => tokens.delete(old), rotation.graceMs).unref();
    }
    saToken = newToken('SA');
    saGenerations.set(saToken, saGenerations.size + 1);
    tokens.set(saToken, serviceAccountUser);
    await writeFile(join(saDir, 'token'), saToken, { mode: 0o600 });
    return saToken;
  }
  await mkdir(saDir, { recursive: true });
  await writeFile(join(saDir, 'ca.crt'), certificate.cert);
  await writeFile(join(saDir, 'namespace'), namespace);
  await rotateToken();

  const baseContext = { key: certificate.key, cert: certificate.cert };
  const server: Server = createServer({ ...baseContext, requestCert: true, rejectUnauthorized: false }, (request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, statusBody(new StatusError(500, 'InternalError', `Internal error occurred: ${String(error)}`)));
    });
  });

  function rvOf(versionId: string): string {
    let rv = versions.get(versionId);
    if (rv === undefined) {
      rv = String((revision += 1));
      versions.set(versionId, rv);
    }
    return rv;
  }

  /** The stored object for key `ns/name`, with its resourceVersion; undefined when absent. */
  function load(ns: string, name: string): Json | undefined {
    const latest = store.latest(`${ns}/${name}`);
    if (latest === undefined) return undefined;
    const text = typeof latest.value === 'string' ? latest.value : Buffer.from(latest.value).toString('utf8');
    let object: Json | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (isRecord(parsed) && parsed.kind === 'Secret') object = parsed;
    } catch {
      // not a Secret object: the raw credentials text
    }
    object ??= { kind: 'Secret', apiVersion: 'v1', metadata: {}, type: 'Opaque', data: { 'credentials.json': Buffer.from(text).toString('base64') } };
    const metadata = isRecord(object.metadata) ? object.metadata : {};
    return {
      ...object,
      metadata: {
        uid: uidOf(ns, name),
        creationTimestamp: new Date(store.get(`${ns}/${name}`)?.createdAt ?? Date.now()).toISOString(),
        ...metadata,
        name,
        namespace: ns,
        resourceVersion: rvOf(latest.id),
      },
    };
  }
  const uids = new Map<string, string>();
  const uidOf = (ns: string, name: string) => uids.get(`${ns}/${name}`) ?? (uids.set(`${ns}/${name}`, randomUUID()), uids.get(`${ns}/${name}`) as string);

  function save(ns: string, name: string, object: Json, manager: string): Json {
    const { resourceVersion: _rv, ...metadata } = (isRecord(object.metadata) ? object.metadata : {}) as Json;
    const managedFields = [{ manager, operation: 'Update', apiVersion: 'v1', time: new Date().toISOString(), fieldsType: 'FieldsV1', fieldsV1: { 'f:data': Object.fromEntries(Object.keys(isRecord(object.data) ? object.data : {}).map((k) => [`f:${k}`, {}])) } }];
    const stored = { ...object, kind: 'Secret', apiVersion: 'v1', metadata: { ...metadata, name, namespace: ns, uid: uidOf(ns, name), managedFields } };
    const version = store.addVersion(`${ns}/${name}`, JSON.stringify(stored));
    rvOf(version.id);
    return load(ns, name) as Json;
  }

  function authenticate(request: IncomingMessage): string | undefined {
    const authorization = header(request, 'authorization');
    if (authorization !== undefined) {
      const token = /^Bearer (.+)$/.exec(authorization)?.[1];
      return token === undefined ? undefined : tokens.get(token);
    }
    const socket = request.socket as TLSSocket;
    if (socket.authorized) {
      const cn = socket.getPeerCertificate().subject?.CN;
      if (typeof cn === 'string') return cn;
    }
    return 'system:anonymous';
  }

  function authorize(user: string, verb: 'get' | 'update' | 'create', ns: string, name: string | undefined): void {
    const granted = grants.get(user);
    const allowed = verb === 'create' ? granted?.create === true : (granted?.[verb] ?? []).some((n) => n === '*' || n === name);
    if (allowed) return;
    const what = name === undefined ? 'secrets' : `secrets "${name}"`;
    throw new StatusError(403, 'Forbidden', `${what} is forbidden: User "${user}" cannot ${verb} resource "secrets" in API group "" in the namespace "${ns}"`, {
      ...(name === undefined ? {} : { name }),
      kind: 'secrets',
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', 'https://fake.invalid');
    const method = request.method ?? 'GET';
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(url.pathname);
    const ns = match?.[1] === undefined ? '' : decodeURIComponent(match[1]);
    const name = match?.[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const operation = match === null ? '' : name !== undefined && method === 'GET' ? 'get-secret' : name !== undefined && method === 'PUT' ? 'update-secret' : name === undefined && method === 'POST' ? 'create-secret' : '';
    const user = authenticate(request);
    const bearer = /^Bearer (.+)$/.exec(header(request, 'authorization') ?? '')?.[1];
    const seen = { operation, method, path: url.pathname, query: url.search, user: user ?? 'unauthenticated', saToken: saGenerations.get(bearer ?? '') ?? 0 };
    const answer = (status: number, json: Json, extraHeaders: Record<string, string> = {}) => {
      requests.push({ ...seen, status });
      send(response, status, json, extraHeaders);
    };
    const fail = (error: StatusError, extraHeaders: Record<string, string> = {}) => answer(error.code, statusBody(error), extraHeaders);

    if (operation === '') return fail(new StatusError(404, 'NotFound', 'the server could not find the requested resource'));
    const decision = faults.next(operation);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.fault) {
      if (decision.fault.kind === 'reset') {
        requests.push({ ...seen, status: 0 });
        request.socket.destroy();
        return;
      }
      const fault = faultError(decision.fault.kind, ns, name ?? '', serviceAccountUser);
      return fail(fault, fault.code === 429 ? { 'retry-after': '1' } : {});
    }
    try {
      if (user === undefined) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
      if (operation === 'get-secret') {
        authorize(user, 'get', ns, name);
        if (huge !== undefined) return serveHugeSecret(response, ns, name as string, huge, () => requests.push({ ...seen, status: 200 }));
        const found = load(ns, name as string);
        if (found === undefined) throw notFound(name as string);
        return answer(200, found);
      }
      const input = parseBody(body);
      const manager = url.searchParams.get('fieldManager') ?? 'unknown';
      if (operation === 'update-secret') {
        authorize(user, 'update', ns, name);
        return answer(200, await replace(ns, name as string, input, manager));
      }
      authorize(user, 'create', ns, undefined);
      await faults.runBeforeWrite();
      return answer(201, create(ns, input, manager));
    } catch (error) {
      if (error instanceof StatusError) return fail(error);
      throw error;
    }
  }

  async function replace(ns: string, name: string, input: Json, manager: string): Promise<Json> {
    const metadata = isRecord(input.metadata) ? input.metadata : {};
    checkObject(input, ns, name);
    // Another writer may land here, between the request and the check.
    await faults.runBeforeWrite();
    const existing = load(ns, name);
    if (existing === undefined) throw notFound(name);
    const existingMeta = existing.metadata as Json;
    if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== existingMeta.resourceVersion) {
      throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on secrets "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: 'secrets' });
    }
    if (existing.immutable === true && JSON.stringify(existing.data ?? {}) !== JSON.stringify(input.data ?? {})) {
      throw invalid(name, 'data', 'Forbidden: field is immutable when `immutable` is set');
    }
    if ((input.type ?? 'Opaque') !== (existing.type ?? 'Opaque')) throw invalid(name, 'type', 'Invalid value: field is immutable');
    return save(ns, name, { ...input, metadata: { ...metadata, creationTimestamp: existingMeta.creationTimestamp } }, manager);
  }

  function create(ns: string, input: Json, manager: string): Json {
    const metadata = isRecord(input.metadata) ? input.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    if (!namespaces.has(ns)) throw new StatusError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    checkObject(input, ns, name);
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw invalid(name, 'metadata.name', `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    if (metadata.resourceVersion !== undefined) throw new StatusError(400, 'BadRequest', 'resourceVersion should not be set on objects to be created');
    if (load(ns, name) !== undefined) throw new StatusError(409, 'AlreadyExists', `secrets "${name}" already exists`, { name, kind: 'secrets' });
    return save(ns, name, { ...input, type: input.type ?? 'Opaque', metadata: { ...metadata, creationTimestamp: new Date().toISOString() } }, manager);
  }

  function checkObject(input: Json, ns: string, name: string): void {
    const metadata = isRecord(input.metadata) ? input.metadata : {};
    if (input.kind !== 'Secret' || input.apiVersion !== 'v1') throw new StatusError(400, 'BadRequest', `the API version in the data (${String(input.apiVersion)}) does not match the expected API version (v1)`);
    if (metadata.name !== undefined && metadata.name !== name) throw new StatusError(400, 'BadRequest', `the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`);
    if (metadata.namespace !== undefined && metadata.namespace !== ns) throw new StatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    for (const [key, value] of Object.entries(isRecord(input.data) ? input.data : {})) {
      if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw invalid(name, `data[${key}]`, "Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new StatusError(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0`);
    }
  }

  function serveHugeSecret(response: ServerResponse, ns: string, name: string, plan: { bytes: number; declareLength: boolean }, record: () => void): void {
    record();
    const head = Buffer.from(`{"kind":"Secret","apiVersion":"v1","metadata":{"name":"${name}","namespace":"${ns}","resourceVersion":"1","annotations":{"padding":"`);
    const tail = Buffer.from(`"}},"type":"Opaque","data":{}}`);
    const total = head.length + plan.bytes + tail.length;
    const state = { sent: 0, total, completed: false };
    hugeAnswer = state;
    response.writeHead(200, { 'content-type': 'application/json', ...(plan.declareLength ? { 'content-length': String(total) } : {}) });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let padding = plan.bytes;
    const pump = () => {
      if (state.sent === 0) state.sent += head.length, response.write(head);
      while (padding > 0 && !response.destroyed) {
        const piece = padding >= chunk.length ? chunk : chunk.subarray(0, padding);
        padding -= piece.length;
        state.sent += piece.length;
        if (!response.write(piece)) return void response.once('drain', pump);
      }
      if (!response.destroyed) {
        state.sent += tail.length;
        response.end(tail, () => void (state.completed = true));
      }
    };
    pump();
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  const cliEnv: Record<string, string> = {
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(port),
    CLAUDE_CREDS_KUBERNETES_SA_DIR: saDir,
    // An empty home: no ~/.kube/config of the machine running the tests takes part.
    HOME: home,
  };

  const fake: RunningFakeKubernetes = {
    provider: 'kubernetes',
    store,
    faults,
    url,
    port,
    caFile: certificate.caFile,
    saDir,
    namespace,
    serviceAccountUser,
    requests,
    secrets,
    get hugeAnswer() {
      return hugeAnswer;
    },
    currentToken: () => saToken,
    rotateToken,
    issueToken(user, userGrants = ALL) {
      const token = newToken('USER');
      tokens.set(token, user);
      grants.set(user, userGrants);
      return token;
    },
    async issueClientCertificate(user, userGrants = ALL) {
      const { generate } = await import('selfsigned');
      const pems = await generate([{ name: 'commonName', value: user }], {
        keyType: 'ec',
        algorithm: 'sha256',
        extensions: [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', digitalSignature: true, keyCertSign: true }, { name: 'extKeyUsage', clientAuth: true }],
      });
      clientCas.push(pems.cert);
      server.setSecureContext({ ...baseContext, ca: clientCas });
      grants.set(user, userGrants);
      secrets.push(pems.private);
      return { cert: pems.cert, key: pems.private };
    },
    grant: (user, userGrants) => void grants.set(user, userGrants),
    revoke: (token) => void tokens.delete(token),
    kubeconfig: (user, kubeconfigOptions = {}) => writeKubeconfig(dir, { server: url, caPem: certificate.cert, caFile: certificate.caFile, user, ...kubeconfigOptions }),
    putSecret(name, data, putOptions = {}) {
      const ns = putOptions.namespace ?? namespace;
      const object = {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { ...(putOptions.labels === undefined ? {} : { labels: putOptions.labels }) },
        type: 'Opaque',
        ...(putOptions.immutable ? { immutable: true } : {}),
        data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
      };
      return String((save(ns, name, object, 'kubectl').metadata as Json).resourceVersion);
    },
    secretOf: (name, ns = namespace) => load(ns, name),
    valueOf(name, key = 'credentials.json', ns = namespace) {
      const data = load(ns, name)?.data;
      const value = isRecord(data) ? data[key] : undefined;
      return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined;
    },
    serveHuge(bytes, declareLength = false) {
      huge = bytes === undefined ? undefined : { bytes, declareLength };
    },
    secretRef: (secretName) => `${namespace}/${secretName}`,
    storeKey: (secretName) => `${namespace}/${secretName}`,
    providerConfig: (secretName): ProviderConfig => ({
      name: 'kubernetes',
      secret: `${namespace}/${secretName}`,
      region: undefined,
      endpoint: undefined,
      project: undefined,
      vaultUrl: undefined,
      caFile: undefined,
      env: { ...cliEnv },
    }),
    cliArgs: ['--provider', 'kubernetes'],
    cliEnv,
    close: async () => {
      await new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      });
      await rm(dir, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    },
  };
  return fake;
}

const notFound = (name: string) => new StatusError(404, 'NotFound', `secrets "${name}" not found`, { name, kind: 'secrets' });

function invalid(name: string, field: string, detail: string): StatusError {
  return new StatusError(422, 'Invalid', `Secret "${name}" is invalid: ${field}: ${detail}`, {
    name,
    kind: 'Secret',
    causes: [{ reason: 'FieldValueInvalid', message: detail, field }],
  });
}

function faultError(kind: Exclude<FaultKind, 'reset'>, ns: string, name: string, user: string): StatusError {
  switch (kind) {
    case 'throttle':
      return new StatusError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
    case 'unavailable':
      return new StatusError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
    case 'internal':
      return new StatusError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out');
    case 'denied':
      return new StatusError(403, 'Forbidden', `secrets "${name}" is forbidden: User "${user}" cannot get resource "secrets" in API group "" in the namespace "${ns}"`, { name, kind: 'secrets' });
    case 'not-found':
      return notFound(name);
  }
}

function parseBody(body: string): Json {
  try {
    const value: unknown = JSON.parse(body);
    if (isRecord(value)) return value;
  } catch {
    // fall through
  }
  throw new StatusError(400, 'BadRequest', 'the request body is not a JSON object');
}

function send(response: ServerResponse, status: number, body: Json, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private', ...extraHeaders });
  response.end(text);
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
