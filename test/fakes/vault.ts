/**
 * A wire-level fake of HashiCorp Vault / OpenBao on 127.0.0.1: the KV v2 data endpoints of one mount,
 * Kubernetes and AppRole logins, tokens with simple path grants, namespaces, a sealed mode, and the
 * shared FaultInjector on every call. Plain HTTP by default; `tls: true` serves HTTPS with a self-signed
 * certificate written to `caFile` (trusted by nothing unless a client is told to).
 *
 * Store layout: the key of a secret is `<mount>/<path>` (`storeKey`), its versions are the VersionedStore's,
 * and the KV version number is the store's version number. A stored value is the secret's `data` object as
 * JSON text; a value that is not a JSON object (e.g. a base64 string a test stored) is served as the field
 * `credentials`, so `store.addVersion(storeKey(name), login.json | login.base64)` works as for other fakes.
 *
 * Operation names for the FaultInjector: `kv-read`, `kv-write`, `kubernetes-login`, `approle-login`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ProviderConfig } from '../../src/core/provider.js';
import { FaultInjector, sleep, type FaultKind } from './faults.js';
import type { RunningFake } from './running-fake.js';
import { VersionedStore } from './versioned-store.js';
import { header, readBody, sendTruncated, streamOversizeAnswer } from './http-util.js';
import { loopbackCertificate } from './loopback-certificate.js';

export type VaultOperation = 'kv-read' | 'kv-write' | 'kubernetes-login' | 'approle-login';

/** What a token may do: path prefixes (after the mount, e.g. `claude/`) or `*` for everything. */
export interface TokenGrants {
  readonly read?: readonly string[];
  readonly write?: readonly string[];
}

const ALL: TokenGrants = { read: ['*'], write: ['*'] };

export interface FakeVaultOptions {
  /** KV v2 mount path; default `secret`. */
  readonly mount?: string;
  /** The token with every grant; default a random `hvs.` token. */
  readonly rootToken?: string;
  /** When set, every call must carry this X-Vault-Namespace, else 403. */
  readonly namespace?: string;
  /** Serve HTTPS with a self-signed certificate (`caFile`). */
  readonly tls?: boolean;
  /** Enables `auth/kubernetes/login` for this role and service account JWT. */
  readonly kubernetes?: { readonly role: string; readonly jwt: string; readonly mount?: string };
  /** Enables `auth/approle/login` for this role_id and secret_id. */
  readonly approle?: { readonly roleId: string; readonly secretId: string; readonly mount?: string };
  /** What tokens issued by the logins may do; default everything. */
  readonly loginGrants?: TokenGrants;
  /** Lease of login tokens, in seconds; default 3600. */
  readonly loginLeaseSeconds?: number;
  readonly store?: VersionedStore;
  readonly faults?: FaultInjector;
}

/** What the fake saw of each request. Never the token itself: whether one was sent and which one it was. */
export interface SeenVaultRequest {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly namespace: string | undefined;
  readonly tokenKind: 'root' | 'login' | 'issued' | 'unknown' | 'none';
}

export interface RunningFakeVault extends RunningFake {
  readonly url: string;
  readonly mount: string;
  readonly rootToken: string;
  /** The PEM of the self-signed certificate when `tls`, else undefined. */
  readonly caFile: string | undefined;
  readonly requests: readonly SeenVaultRequest[];
  /** Every token the login endpoints handed out, in order. */
  readonly loginTokens: readonly string[];
  /** 503 "Vault is sealed" for every call while true. */
  sealed: boolean;
  /** A new token with these grants. */
  issueToken(grants: TokenGrants): string;
  /** Revoke a token (login or issued): its calls get 403 from then on. */
  revoke(token: string): void;
  /** Store `value` under `field` (default `credentials`) as a new version; returns its version number. */
  putField(secretName: string, value: string, field?: string): number;
  /** The data object of the latest version. */
  dataOf(secretName: string): Record<string, unknown> | undefined;
  /** Soft-delete the latest version (KV v2 `DELETE`): reads get 404 with its metadata. */
  deleteLatest(secretName: string): void;
}

type Json = Record<string, unknown>;

class VaultFault extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
    readonly extra: Json = {},
  ) {
    super(errors.join('; '));
  }
}

const denied = () => new VaultFault(403, ['permission denied']);

export async function startFakeVault(options: FakeVaultOptions = {}): Promise<RunningFakeVault> {
  const mount = options.mount ?? 'secret';
  const store = options.store ?? new VersionedStore();
  const faults = options.faults ?? new FaultInjector();
  const rootToken = options.rootToken ?? `hvs.FAKE-ROOT-${randomBytes(12).toString('hex')}`;
  const k8sMount = options.kubernetes?.mount ?? 'kubernetes';
  const approleMount = options.approle?.mount ?? 'approle';
  const tokens = new Map<string, { grants: TokenGrants; kind: 'root' | 'login' | 'issued' }>([[rootToken, { grants: ALL, kind: 'root' }]]);
  const requests: SeenVaultRequest[] = [];
  const loginTokens: string[] = [];
  const deleted = new Map<string, number>();
  let dir: string | undefined;
  let caFile: string | undefined;

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, new VaultFault(500, [`internal error: ${String(error)}`]));
    });
  };

  let server: Server;
  if (options.tls) {
    const certificate = await loopbackCertificate('Vault');
    dir = certificate.dir;
    caFile = certificate.caFile;
    server = createHttpsServer({ key: certificate.key, cert: certificate.cert }, handler);
  } else {
    server = createHttpServer(handler);
  }

  const running = {
    sealed: false,
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://fake.invalid');
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ''));
    const method = request.method ?? 'GET';
    const token = header(request, 'x-vault-token');
    const namespace = header(request, 'x-vault-namespace');
    const operation = operationOf(method, path);
    requests.push({
      operation,
      method,
      path,
      namespace,
      tokenKind: token === undefined ? 'none' : (tokens.get(token)?.kind ?? 'unknown'),
    });

    if (operation === '') return sendError(response, new VaultFault(404, [`no handler for route "${path}". route entry not found.`]));
    const decision = faults.next(operation);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.fault) {
      if (decision.fault.kind === 'reset') {
        request.socket.destroy();
        return;
      }
      return sendError(response, faultError(decision.fault.kind, path));
    }
    if (running.sealed) return sendError(response, new VaultFault(503, ['Vault is sealed']));
    try {
      if (options.namespace !== undefined && namespace?.replace(/^\/+|\/+$/g, '') !== options.namespace) {
        // The auth mounts and the KV mount live in the namespace: elsewhere there is nothing to reach.
        throw operation.endsWith('login') ? new VaultFault(400, [`no handler for route "${path}". route entry not found.`]) : denied();
      }
      const input = parse(body);
      const answer = await dispatch(operation as VaultOperation, path, method, token, input);
      if (decision.answer === 'truncate' || decision.answer === 'truncate-unframed') return sendTruncated(response, 200, JSON_HEADERS, JSON.stringify(answer), decision.answer === 'truncate');
      if (decision.answer === 'oversize') return await sendOversize(response, answer, faults);
      send(response, 200, answer);
    } catch (error) {
      if (error instanceof VaultFault) return sendError(response, error);
      throw error;
    }
  }

  function operationOf(method: string, path: string): string {
    if (path === `auth/${k8sMount}/login` && method === 'POST' && options.kubernetes) return 'kubernetes-login';
    if (path === `auth/${approleMount}/login` && method === 'POST' && options.approle) return 'approle-login';
    if (path.startsWith(`${mount}/data/`)) {
      if (method === 'GET') return 'kv-read';
      if (method === 'POST' || method === 'PUT') return 'kv-write';
    }
    return '';
  }

  async function dispatch(operation: VaultOperation, path: string, method: string, token: string | undefined, input: Json): Promise<Json> {
    switch (operation) {
      case 'kubernetes-login': {
        const k8s = options.kubernetes as NonNullable<FakeVaultOptions['kubernetes']>;
        if (typeof input.role !== 'string' || input.role === '') throw new VaultFault(400, ['missing role']);
        if (typeof input.jwt !== 'string' || input.jwt === '') throw new VaultFault(400, ['missing jwt']);
        if (input.role !== k8s.role) throw new VaultFault(400, [`invalid role name "${input.role}"`]);
        if (input.jwt !== k8s.jwt) throw denied();
        return loginAnswer();
      }
      case 'approle-login': {
        const approle = options.approle as NonNullable<FakeVaultOptions['approle']>;
        if (typeof input.role_id !== 'string' || input.role_id === '') throw new VaultFault(400, ['missing role_id']);
        if (input.role_id !== approle.roleId || input.secret_id !== approle.secretId) {
          throw new VaultFault(400, ['invalid role or secret ID']);
        }
        return loginAnswer();
      }
      case 'kv-read':
      case 'kv-write': {
        const secretPath = path.slice(`${mount}/data/`.length);
        const grants = token === undefined ? undefined : tokens.get(token)?.grants;
        const intent = operation === 'kv-read' ? 'read' : 'write';
        if (grants === undefined || !allowed(grants[intent], secretPath)) throw denied();
        return operation === 'kv-read' ? kvRead(secretPath) : kvWrite(secretPath, method, input);
      }
    }
  }

  function loginAnswer(): Json {
    const token = `hvs.FAKE-LOGIN-${randomBytes(12).toString('hex')}`;
    tokens.set(token, { grants: options.loginGrants ?? ALL, kind: 'login' });
    loginTokens.push(token);
    return {
      request_id: randomUUID(),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      auth: {
        client_token: token,
        accessor: randomBytes(12).toString('hex'),
        policies: ['default', 'claude-creds'],
        token_policies: ['default', 'claude-creds'],
        lease_duration: options.loginLeaseSeconds ?? 3600,
        renewable: true,
        token_type: 'service',
        orphan: true,
      },
    };
  }

  function metadataOf(number: number, createdAt: number, key: string): Json {
    const deletedAt = deleted.get(key) === number ? new Date().toISOString() : '';
    return { created_time: new Date(createdAt).toISOString(), custom_metadata: null, deletion_time: deletedAt, destroyed: false, version: number };
  }

  function kvRead(secretPath: string): Json {
    const key = `${mount}/${secretPath}`;
    const latest = store.latest(key);
    if (latest === undefined) throw new VaultFault(404, []);
    const metadata = metadataOf(latest.number, latest.createdAt, key);
    if (deleted.get(key) === latest.number) throw new VaultFault(404, [], { data: { data: null, metadata } });
    return envelope({ data: toData(latest.value), metadata });
  }

  async function kvWrite(secretPath: string, method: string, input: Json): Promise<Json> {
    const key = `${mount}/${secretPath}`;
    if (method === 'PUT' || method === 'POST') {
      if (!isRecord(input.data)) throw new VaultFault(400, ['no data provided']);
    }
    const opts = isRecord(input.options) ? input.options : {};
    const cas = opts.cas;
    if (cas !== undefined && (typeof cas !== 'number' || !Number.isInteger(cas) || cas < 0)) {
      throw new VaultFault(400, ['error parsing check-and-set parameter']);
    }
    // Another writer may land here, between the request and the check-and-set.
    await faults.runBeforeWrite();
    const current = store.latest(key)?.number ?? 0;
    if (cas !== undefined && cas !== current) throw new VaultFault(400, ['check-and-set parameter did not match the current version']);
    const version = store.addVersion(key, JSON.stringify(input.data));
    return envelope(metadataOf(version.number, version.createdAt, key));
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const cliEnv: Record<string, string> = { VAULT_ADDR: url, VAULT_TOKEN: rootToken };
  if (options.namespace !== undefined) cliEnv.VAULT_NAMESPACE = options.namespace;
  if (caFile !== undefined) cliEnv.VAULT_CACERT = caFile;

  const fake: RunningFakeVault = {
    provider: 'vault',
    store,
    faults,
    url,
    mount,
    rootToken,
    caFile,
    requests,
    loginTokens,
    get sealed() {
      return running.sealed;
    },
    set sealed(value: boolean) {
      running.sealed = value;
    },
    issueToken(grants) {
      const token = `hvs.FAKE-ISSUED-${randomBytes(12).toString('hex')}`;
      tokens.set(token, { grants, kind: 'issued' });
      return token;
    },
    revoke(token) {
      tokens.delete(token);
    },
    putField(secretName, value, field = 'credentials') {
      return store.addVersion(`${mount}/${secretName}`, JSON.stringify({ [field]: value })).number;
    },
    dataOf(secretName) {
      const latest = store.latest(`${mount}/${secretName}`);
      return latest === undefined ? undefined : toData(latest.value);
    },
    deleteLatest(secretName) {
      const latest = store.latest(`${mount}/${secretName}`);
      if (latest) deleted.set(`${mount}/${secretName}`, latest.number);
    },
    secretRef: (secretName) => `${mount}/${secretName}`,
    storeKey: (secretName) => `${mount}/${secretName}`,
    providerConfig: (secretName): ProviderConfig => ({
      name: 'vault',
      secret: `${mount}/${secretName}`,
      region: undefined,
      endpoint: undefined,
      project: undefined,
      vaultUrl: undefined,
      caFile: undefined,
      env: { ...cliEnv },
    }),
    cliArgs: ['--provider', 'vault'],
    cliEnv,
    close: async () => {
      await new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      });
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
  return fake;
}

function allowed(prefixes: readonly string[] | undefined, path: string): boolean {
  return (prefixes ?? []).some((prefix) => prefix === '*' || path === prefix || path.startsWith(prefix));
}

/** A stored value as KV data: the JSON object it holds, else `{credentials: value}`. */
function toData(value: string | Uint8Array): Json {
  const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return parsed;
  } catch {
    // not JSON: a plain field value
  }
  return { credentials: text };
}

function envelope(data: Json): Json {
  return { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth: null };
}

function faultError(kind: Exclude<FaultKind, 'reset'>, path: string): VaultFault {
  switch (kind) {
    case 'throttle':
      return new VaultFault(429, [`request path "${path}": rate limit quota exceeded`]);
    case 'unavailable':
      return new VaultFault(503, ['node not active but active cluster node not found']);
    case 'internal':
      return new VaultFault(500, ['internal error']);
    case 'denied':
      return denied();
    case 'not-found':
      return new VaultFault(404, []);
  }
}

function sendError(response: ServerResponse, fault: VaultFault): void {
  send(response, fault.status, { errors: fault.errors, ...fault.extra });
}

const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function send(response: ServerResponse, status: number, body: Json): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(text)) });
  response.end(text);
}

/** The answer with a field of `bytes` filler streamed first: `credentials` in a KV read's data, else `padding`. */
function sendOversize(response: ServerResponse, answer: Json, faults: FaultInjector): Promise<void> {
  const bytes = faults.oversizeBytes;
  const sent = (n: number) => faults.oversizeSent.push(n);
  const block = isRecord(answer.data) ? answer.data : undefined;
  if (block !== undefined && isRecord(block.data)) {
    const { credentials: _credentials, ...fields } = block.data;
    const { data: _data, ...meta } = block;
    const { data: _block, ...envelope } = answer;
    const rest = (value: Json) => (Object.keys(value).length === 0 ? '' : `,${JSON.stringify(value).slice(1, -1)}`);
    return streamOversizeAnswer(response, 200, JSON_HEADERS, {
      prefix: '{"data":{"data":{"credentials":"',
      fillBytes: bytes,
      suffix: `"${rest(fields)}}${rest(meta)}}${rest(envelope)}}`,
    }, sent);
  }
  const tail = JSON.stringify(answer);
  return streamOversizeAnswer(response, 200, JSON_HEADERS, { prefix: '{"padding":"', fillBytes: bytes, suffix: tail === '{}' ? '"}' : `",${tail.slice(1)}` }, sent);
}


function parse(body: string): Json {
  if (body.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(body);
    if (isRecord(value)) return value;
  } catch {
    // fall through
  }
  throw new VaultFault(400, ['failed to parse JSON input']);
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
