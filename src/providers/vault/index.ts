/**
 * HashiCorp Vault / OpenBao, KV secrets engine version 2, over its plain HTTP API (no client library:
 * two KV calls and two login calls do not need one).
 *
 * - `--secret <mount>/<path>[#field]`, e.g. `secret/claude/credentials`: the mount is the first segment.
 *   The API form `<mount>/data/<path>` is accepted too, and is the way to name a nested mount
 *   (`team/kv/data/claude`) or a path whose second segment is `data` (`secret/data/data/x`).
 * - The value: the field `credentials` (or `#field`) of the secret's data, a string holding the credentials
 *   JSON or base64 of it (a JSON object in that field is accepted and re-serialized). Without `#field`, a
 *   secret whose data is itself the credentials document (a top-level `claudeAiOauth` key, no `credentials`
 *   key) is read and written in that shape. Writes keep the secret's other fields.
 * - Versions: `data.metadata.version`. Writes are compare-and-swap with KV v2's check-and-set: `cas` is the
 *   version the caller read (0 = only if the secret does not exist); a mismatch is a ConflictError.
 * - Auth, first that is configured: `VAULT_TOKEN`; Kubernetes (`VAULT_K8S_ROLE`, the service account JWT
 *   at `VAULT_K8S_TOKEN_PATH` or the standard path, `VAULT_K8S_MOUNT` default `kubernetes`); AppRole
 *   (`VAULT_ROLE_ID` + `VAULT_SECRET_ID`, `VAULT_APPROLE_MOUNT` default `approle`). `~/.vault-token` is
 *   never read. Login tokens are renewed by logging in again before their lease ends, or once after a 403.
 * - `VAULT_ADDR` (or `--endpoint`), `VAULT_NAMESPACE` (X-Vault-Namespace), `--ca-file` or `VAULT_CACERT`
 *   (PEM trusted for this client only, instead of the system roots).
 *
 * Providers never retry: 429, 5xx (sealed, standby), timeouts and network errors become
 * StoreUnavailableError for the shared retry policy. No token, JWT, secret_id or payload is ever put in
 * a message.
 */
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  ClaudeCredsError,
  ConfigError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
  describeCause,
} from '../../core/errors.js';
import type { CallOptions, Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';
import { callSignal } from '../call-signal.js';

export const DEFAULT_FIELD = 'credentials';
export const DEFAULT_K8S_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const CAS_MISMATCH = /check-and-set parameter did not match the current version/i;

// ---------------------------------------------------------------------------------------------------
// The port: one HTTP call to Vault.

export interface VaultHttpRequest {
  readonly method: 'GET' | 'POST';
  /** The API path after `/v1/`, already encoded. */
  readonly path: string;
  readonly body?: unknown;
  /** Sent as X-Vault-Token; absent for logins. */
  readonly token?: string;
  readonly signal: AbortSignal | undefined;
}

export interface VaultHttpResponse {
  readonly status: number;
  /** The parsed JSON body, or undefined when it was empty or not JSON. */
  readonly body: unknown;
}

/** The narrow port onto Vault's HTTP API. */
export interface VaultHttpPort {
  request(request: VaultHttpRequest): Promise<VaultHttpResponse>;
  close(): void;
}

export interface VaultClientSettings {
  /** VAULT_ADDR without credentials or trailing slash; may carry a path prefix (a proxy). */
  readonly address: URL;
  readonly namespace: string | undefined;
  /** PEM to trust for https instead of the system roots. */
  readonly ca: string | undefined;
}

export interface VaultProviderDeps {
  readonly createPort?: (settings: VaultClientSettings) => VaultHttpPort;
  readonly readTextFile?: (path: string) => Promise<string>;
  readonly now?: () => number;
}

/** The real port: node:http / node:https with a keep-alive agent of its own (the CA is per client). */
export function createHttpPort(settings: VaultClientSettings): VaultHttpPort {
  const secure = settings.address.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, ...(settings.ca === undefined ? {} : { ca: settings.ca }) })
    : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const base = settings.address.href.replace(/\/+$/, '');

  return {
    request: (call) =>
      new Promise<VaultHttpResponse>((resolve, reject) => {
        const text = call.body === undefined ? undefined : JSON.stringify(call.body);
        const headers: Record<string, string> = { accept: 'application/json' };
        if (text !== undefined) {
          headers['content-type'] = 'application/json';
          headers['content-length'] = String(Buffer.byteLength(text));
        }
        if (call.token !== undefined) headers['x-vault-token'] = call.token;
        if (settings.namespace !== undefined) headers['x-vault-namespace'] = settings.namespace;
        const req = send(
          `${base}/v1/${call.path}`,
          { method: call.method, headers, agent, ...(call.signal === undefined ? {} : { signal: call.signal }) },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > MAX_BODY_BYTES) {
                res.destroy(Object.assign(new Error('the answer exceeds 4 MiB'), { code: 'ERESPONSETOOLARGE' }));
                return;
              }
              chunks.push(chunk);
            });
            res.on('error', reject);
            res.on('end', () => {
              const raw = Buffer.concat(chunks).toString('utf8');
              let body: unknown;
              try {
                body = raw.trim() === '' ? undefined : JSON.parse(raw);
              } catch {
                body = undefined;
              }
              resolve({ status: res.statusCode ?? 0, body });
            });
          },
        );
        // Without a caller's deadline, one hung request must still end.
        if (call.signal === undefined) {
          req.setTimeout(DEFAULT_REQUEST_TIMEOUT_MS, () => {
            req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' }));
          });
        }
        req.on('error', reject);
        req.end(text);
      }),
    close: () => agent.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------------
// The secret reference.

export interface VaultSecretRef {
  readonly mount: string;
  readonly path: string;
  /** The field named after `#`; undefined = the default (`credentials`, or the whole-document shape). */
  readonly field: string | undefined;
}

/** `<mount>/<path>[#field]` or `<mount>/data/<path>[#field]`. */
export function parseVaultSecret(secret: string): VaultSecretRef {
  const hash = secret.indexOf('#');
  const ref = (hash === -1 ? secret : secret.slice(0, hash)).trim().replace(/^\/+|\/+$/g, '');
  const field = hash === -1 ? undefined : secret.slice(hash + 1).trim();
  if (field === '') throw new ConfigError(`--secret ${secret} has an empty #field; name the field after # or drop the #`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
    throw new ConfigError(
      `--secret ${secret} is a URL; give the KV path as <mount>/<path> (e.g. secret/claude/credentials) and the server in VAULT_ADDR or --endpoint`,
    );
  }
  if (ref.startsWith('v1/')) {
    throw new ConfigError(`--secret ${secret}: leave out the /v1/ prefix and give <mount>/<path>, e.g. secret/claude/credentials`);
  }
  const segments = ref.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ConfigError(`--secret ${secret} is not a clean KV path (empty, . or .. segments); give <mount>/<path>, e.g. secret/claude/credentials`);
  }
  const dataAt = segments.indexOf('data', 1);
  let mount: string[];
  let path: string[];
  if (dataAt !== -1) {
    mount = segments.slice(0, dataAt);
    path = segments.slice(dataAt + 1);
  } else {
    mount = segments.slice(0, 1);
    path = segments.slice(1);
  }
  if (path.length === 0) {
    throw new ConfigError(
      `--secret ${secret} names a mount but no secret; give <mount>/<path>, e.g. secret/claude/credentials (KV v2 mount "secret", path "claude/credentials")`,
    );
  }
  return { mount: mount.join('/'), path: path.join('/'), field };
}

// ---------------------------------------------------------------------------------------------------
// Authentication.

type AuthMethod =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'kubernetes'; readonly role: string; readonly mount: string; readonly jwtPath: string }
  | { readonly kind: 'approle'; readonly roleId: string; readonly secretId: string; readonly mount: string };

function authFrom(env: Readonly<Record<string, string | undefined>>): AuthMethod {
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  const mountOf = (name: string, fallback: string) => (value(name) ?? fallback).replace(/^\/+|\/+$/g, '');
  const token = value('VAULT_TOKEN');
  if (token !== undefined) return { kind: 'token', token };
  const role = value('VAULT_K8S_ROLE');
  if (role !== undefined) {
    return { kind: 'kubernetes', role, mount: mountOf('VAULT_K8S_MOUNT', 'kubernetes'), jwtPath: value('VAULT_K8S_TOKEN_PATH') ?? DEFAULT_K8S_TOKEN_PATH };
  }
  const roleId = value('VAULT_ROLE_ID');
  const secretId = value('VAULT_SECRET_ID');
  if (roleId !== undefined && secretId !== undefined) {
    return { kind: 'approle', roleId, secretId, mount: mountOf('VAULT_APPROLE_MOUNT', 'approle') };
  }
  if (roleId !== undefined || secretId !== undefined) {
    throw new ConfigError(`AppRole login needs both VAULT_ROLE_ID and VAULT_SECRET_ID; ${roleId === undefined ? 'VAULT_ROLE_ID' : 'VAULT_SECRET_ID'} is not set`);
  }
  throw new ConfigError(
    'no Vault credentials: set VAULT_TOKEN, or VAULT_K8S_ROLE for Kubernetes auth (with the pod\'s service account token), or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole',
  );
}

function describeAuth(auth: AuthMethod): string {
  switch (auth.kind) {
    case 'token':
      return 'the token in VAULT_TOKEN';
    case 'kubernetes':
      return `the token from Kubernetes login (auth/${auth.mount}, role "${auth.role}")`;
    case 'approle':
      return `the token from AppRole login (auth/${auth.mount})`;
  }
}

// ---------------------------------------------------------------------------------------------------
// The provider.

type Intent = 'read' | 'write';

interface CurrentVersion {
  readonly version: number;
  /** The secret's data; undefined when its latest version is deleted or destroyed. */
  readonly data: Record<string, unknown> | undefined;
}

export async function createVaultProvider(config: ProviderConfig, deps: VaultProviderDeps = {}): Promise<Provider> {
  const env = config.env;
  const secret = config.secret?.trim();
  if (secret === undefined || secret === '') {
    throw new ConfigError('no Vault secret given: pass --secret with the KV v2 path, e.g. secret/claude/credentials (mount/path[#field])');
  }
  const ref = parseVaultSecret(secret);
  const address = parseAddress(config.endpoint, env.VAULT_ADDR);
  const namespace = env.VAULT_NAMESPACE?.trim().replace(/^\/+|\/+$/g, '') || undefined;
  const auth = authFrom(env);
  const readText = deps.readTextFile ?? ((path: string) => readFile(path, 'utf8'));
  const now = deps.now ?? Date.now;

  const caPath = config.caFile ?? (env.VAULT_CACERT?.trim() || undefined);
  const caSource = config.caFile !== undefined ? '--ca-file' : 'VAULT_CACERT';
  let ca: string | undefined;
  if (caPath !== undefined) {
    try {
      ca = await readText(caPath);
    } catch (error) {
      throw new ConfigError(`cannot read ${caSource} ${caPath} (${describeCause(error)})`, { cause: error });
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(`${caSource} ${caPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
  }

  const addressText = address.href.replace(/\/+$/, '');
  const apiPath = `${ref.mount}/data/${ref.path}`;
  const encodedPath = apiPath.split('/').map(encodeURIComponent).join('/');
  const fieldText = ref.field === undefined ? '' : `#${ref.field}`;
  const where = `Vault secret ${apiPath}${fieldText} at ${addressText}${namespace === undefined ? '' : ` (namespace ${namespace})`}`;
  const port = (deps.createPort ?? createHttpPort)({ address, namespace, ca });

  /** Every value that must never appear in a message. */
  const secrets = (): string[] => {
    const values: string[] = [];
    if (auth.kind === 'token') values.push(auth.token);
    if (auth.kind === 'approle') values.push(auth.secretId, auth.roleId);
    if (jwt !== undefined) values.push(jwt);
    if (session !== undefined) values.push(session.token);
    return values;
  };
  const detailOf = (body: unknown, status: number) => scrub(vaultErrors(body, status), secrets());

  // ----- tokens -----
  let session: { token: string; renewAt: number } | undefined;
  let jwt: string | undefined;

  async function login(signal: AbortSignal | undefined): Promise<string> {
    if (auth.kind === 'token') return auth.token;
    let path: string;
    let body: Record<string, string>;
    let method: string;
    if (auth.kind === 'kubernetes') {
      method = `Kubernetes login at auth/${auth.mount} with role "${auth.role}"`;
      try {
        jwt = (await readText(auth.jwtPath)).trim();
      } catch (error) {
        throw new ConfigError(
          `cannot read the Kubernetes service account token at ${auth.jwtPath} for Vault login (${describeCause(error)}); mount the service account token or set VAULT_K8S_TOKEN_PATH`,
          { cause: error },
        );
      }
      if (jwt === '') throw new ConfigError(`the Kubernetes service account token at ${auth.jwtPath} is empty`);
      path = `auth/${encodeMount(auth.mount)}/login`;
      body = { role: auth.role, jwt };
    } else {
      method = `AppRole login at auth/${auth.mount}`;
      path = `auth/${encodeMount(auth.mount)}/login`;
      body = { role_id: auth.roleId, secret_id: auth.secretId };
    }
    let response: VaultHttpResponse;
    try {
      response = await port.request({ method: 'POST', path, body, signal });
    } catch (error) {
      throw networkError(`Vault ${method} at ${addressText}`, error);
    }
    const { status } = response;
    const detail = detailOf(response.body, status);
    if (status >= 200 && status < 300) {
      const authBlock = (response.body as { auth?: { client_token?: unknown; lease_duration?: unknown } } | undefined)?.auth;
      const token = authBlock?.client_token;
      if (typeof token !== 'string' || token === '') {
        throw new PermissionDeniedError(`Vault ${method} at ${addressText} returned no client token; check the auth method's configuration`);
      }
      const lease = typeof authBlock?.lease_duration === 'number' ? authBlock.lease_duration : 0;
      // Log in again once 80% of the lease is gone (never for a lease of 0, i.e. no expiry).
      session = { token, renewAt: lease > 0 ? now() + lease * 800 : Number.POSITIVE_INFINITY };
      return token;
    }
    if (isTransient(status)) throw unavailable(`Vault ${method} at ${addressText}`, status, detail);
    if (status === 404 || /no handler for route/i.test(detail)) {
      const variable = auth.kind === 'kubernetes' ? 'VAULT_K8S_MOUNT' : 'VAULT_APPROLE_MOUNT';
      throw new ConfigError(`Vault ${method} at ${addressText}: no such auth method (${detail}); enable it or set ${variable} to its mount path`);
    }
    const fix =
      auth.kind === 'kubernetes'
        ? `check that role "${auth.role}" exists and binds this pod's service account and namespace, and that ${auth.jwtPath} holds the pod's service account token`
        : 'check VAULT_ROLE_ID and VAULT_SECRET_ID (a secret_id may have expired or reached its use limit)';
    throw new PermissionDeniedError(`Vault refused the ${method} (${status}: ${detail}); ${fix}`);
  }

  async function token(signal: AbortSignal | undefined): Promise<{ token: string; fresh: boolean }> {
    if (auth.kind === 'token') return { token: auth.token, fresh: false };
    if (session !== undefined && now() < session.renewAt) return { token: session.token, fresh: false };
    return { token: await login(signal), fresh: true };
  }

  /** A KV call with the current token; a login token refused with 403 is replaced once by a new login. */
  async function kv(method: 'GET' | 'POST', intent: Intent, body: unknown, signal: AbortSignal | undefined): Promise<VaultHttpResponse> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await token(signal);
      let response: VaultHttpResponse;
      try {
        response = await port.request({ method, path: encodedPath, token: current.token, body, signal });
      } catch (error) {
        throw networkError(`${intent === 'read' ? 'reading' : 'writing'} ${where}`, error);
      }
      if (response.status === 403 && auth.kind !== 'token' && !current.fresh && attempt === 1) {
        session = undefined; // expired or revoked: log in again and repeat once
        continue;
      }
      return response;
    }
  }

  function failure(response: VaultHttpResponse, intent: Intent): ClaudeCredsError {
    const { status } = response;
    const detail = detailOf(response.body, status);
    const action = intent === 'read' ? 'reading' : 'writing';
    if (isTransient(status)) return unavailable(`${action} ${where}`, status, detail);
    if (status === 401 || status === 403) {
      const needed = intent === 'read' ? '"read"' : '"create" and "update" (and "read")';
      return new PermissionDeniedError(
        `permission denied ${action} ${where}: grant ${describeAuth(auth)} a policy with ${needed} on ${apiPath} (${detail})`,
      );
    }
    if (status === 404) {
      return new NotFoundError(
        `${where} was not found${detail === 'HTTP 404' ? '' : ` (${detail})`}; check --secret and VAULT_ADDR, that ${ref.mount}/ is a KV version 2 mount${namespace === undefined ? '' : ' in that namespace'}, or push credentials to it first`,
      );
    }
    if (status === 400 || status === 405 || status === 413) {
      return new ConfigError(`Vault refused ${action} ${where} (${status}: ${detail})`);
    }
    return new ConfigError(`unexpected answer from Vault ${action} ${where} (${status}: ${detail})`);
  }

  /** The latest version and its data; undefined when the secret has no version at all. */
  async function current(intent: Intent, signal: AbortSignal | undefined): Promise<CurrentVersion | undefined> {
    const response = await kv('GET', intent, undefined, signal);
    const block = (response.body as { data?: { data?: unknown; metadata?: { version?: unknown } } } | undefined)?.data;
    const version = typeof block?.metadata?.version === 'number' ? block.metadata.version : undefined;
    if (response.status === 200) {
      if (version === undefined) throw new ConfigError(`${where} answered without data.metadata.version; is ${ref.mount}/ a KV version 2 mount?`);
      return { version, data: isRecord(block?.data) ? block.data : undefined };
    }
    // KV v2 answers 404 with the metadata when the latest version is deleted or destroyed.
    if (response.status === 404 && version !== undefined) return { version, data: undefined };
    if (response.status === 404 && intent === 'write') return undefined;
    throw failure(response, intent);
  }

  /** Which shape the value has in `data`: a field, or the whole document. */
  function wholeDocument(data: Record<string, unknown> | undefined): boolean {
    return ref.field === undefined && data !== undefined && !(DEFAULT_FIELD in data) && 'claudeAiOauth' in data;
  }

  function valueOf(data: Record<string, unknown>, version: number): string {
    if (wholeDocument(data)) return JSON.stringify(data);
    const field = ref.field ?? DEFAULT_FIELD;
    const value = data[field];
    if (typeof value === 'string') return value;
    if (isRecord(value)) return JSON.stringify(value);
    const fields = Object.keys(data);
    const present = fields.length === 0 ? 'it has no fields' : `its fields: ${fields.slice(0, 20).join(', ')}`;
    if (value === undefined) {
      throw new NotFoundError(
        `${where} (version ${version}) has no field "${field}" (${present}); store the credentials JSON under "${field}" or name the field with --secret ${ref.mount}/${ref.path}#FIELD`,
      );
    }
    throw new ConfigError(`${where} (version ${version}): the field "${field}" is a ${Array.isArray(value) ? 'list' : typeof value}, not the credentials JSON as a string`);
  }

  /** Whether `data` already holds `text` where this provider keeps the value. */
  function sameValue(data: Record<string, unknown>, text: string): boolean {
    try {
      return valueOf(data, 0) === text;
    } catch {
      return false;
    }
  }

  const provider = {
    name: 'vault',
    location: `${addressText}/v1/${apiPath}${fieldText}`,
    writes: 'compare-and-swap',

    async read(options?: CallOptions): Promise<StoredPayload> {
      const signal = callSignal(options);
      const found = await current('read', signal);
      if (found === undefined) throw new NotFoundError(`${where} was not found`);
      if (found.data === undefined) {
        throw new NotFoundError(`${where}: its latest version ${found.version} is deleted or destroyed; undelete it, or push credentials to it again`);
      }
      return { payload: valueOf(found.data, found.version), version: String(found.version) };
    },

    async write(request: WriteRequest, options?: CallOptions): Promise<WriteOutcome> {
      const signal = callSignal(options);
      const { payload, expectedVersion } = request;
      if (expectedVersion !== undefined && !/^\d+$/.test(expectedVersion)) {
        throw new ConfigError(`expected version "${expectedVersion}" is not a Vault KV version number`);
      }
      const before = await current('write', signal);
      const currentText = before?.data === undefined ? undefined : String(before.version);

      // A retry whose first attempt landed (its answer lost) finds its own value one version on.
      if (before?.data !== undefined && before.version > Number(expectedVersion ?? 0) && sameValue(before.data, payload)) {
        return { version: String(before.version) };
      }
      if (currentText !== expectedVersion) {
        const now = currentText === undefined ? 'it has no live version now' : `it is at version ${currentText} now`;
        const expected = expectedVersion === undefined ? 'expected it not to exist' : `expected version ${expectedVersion}`;
        throw new ConflictError(`${where} changed since it was read (${expected}; ${now}); re-read it and decide again`);
      }

      let data: Record<string, unknown>;
      if (wholeDocument(before?.data)) {
        const parsed = parseObject(payload);
        if (parsed === undefined) throw new ConfigError(`${where} holds the credentials document as its data, but the payload to write is not a JSON object`);
        data = parsed;
      } else {
        data = { ...(before?.data ?? {}), [ref.field ?? DEFAULT_FIELD]: payload };
      }
      // cas: the version read (a deleted or destroyed latest version still counts), 0 = must not exist.
      const cas = before?.version ?? 0;
      const response = await kv('POST', 'write', { options: { cas }, data }, signal);
      if (response.status === 200 || response.status === 204) {
        const version = (response.body as { data?: { version?: unknown } } | undefined)?.data?.version;
        if (typeof version === 'number') return { version: String(version) };
        // Answered without a version (old servers, proxies): read it back.
        const after = await current('write', signal);
        return { version: after === undefined ? undefined : String(after.version) };
      }
      if (response.status === 400 && CAS_MISMATCH.test(vaultErrors(response.body, 400))) {
        throw new ConflictError(
          `${where} changed since it was read (check-and-set on version ${cas} refused: another writer got there first); re-read it and decide again`,
        );
      }
      throw failure(response, 'write');
    },

    async close(): Promise<void> {
      port.close();
    },
  } satisfies Provider;

  return provider;
}

// ---------------------------------------------------------------------------------------------------
// Helpers.

function parseAddress(endpoint: string | undefined, vaultAddr: string | undefined): URL {
  const given = endpoint?.trim() || vaultAddr?.trim() || undefined;
  const source = endpoint?.trim() ? '--endpoint' : 'VAULT_ADDR';
  if (given === undefined) {
    throw new ConfigError('no Vault address: set VAULT_ADDR (e.g. https://vault.example.com:8200) or pass --endpoint');
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new ConfigError(`${source} ${given} is not a URL; give one such as https://vault.example.com:8200`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${source} must be an http:// or https:// URL, not ${url.protocol}//...`);
  }
  // Credentials in the URL would end up in messages and logs; Vault does not use them.
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/\/v1\/?$/, '').replace(/\/+$/, '') || '/';
  return url;
}

function encodeMount(mount: string): string {
  return mount.split('/').map(encodeURIComponent).join('/');
}


function isTransient(status: number): boolean {
  return status === 429 || status === 408 || status === 412 || status >= 500 || status === 0;
}

function unavailable(what: string, status: number, detail: string): StoreUnavailableError {
  if (/vault is sealed/i.test(detail)) return new StoreUnavailableError(`${what} failed for now: Vault is sealed (${status}); unseal it`);
  const kind = status === 429 ? 'throttled' : status === 503 ? 'unavailable or standby' : 'server error';
  return new StoreUnavailableError(`${what} failed for now (${status} ${kind}: ${detail})`);
}

function networkError(what: string, error: unknown): ClaudeCredsError {
  const code = (error as { code?: unknown; name?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  const tls = typeof code === 'string' && /CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO_VERIFY|HOSTNAME/i.test(code);
  if (tls) {
    // A certificate problem does not go away on retry: say what to trust.
    return new ConfigError(
      `${what}: the server's TLS certificate is not trusted (${String(code)}); set VAULT_CACERT or --ca-file to the PEM of the CA that signed it`,
      { cause: error },
    );
  }
  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return new StoreUnavailableError(`${what} failed for now (timed out)`, { cause: error });
  }
  const text = typeof code === 'string' ? code : describeCause(error).slice(0, 200);
  return new StoreUnavailableError(`${what} failed for now (${text})`, { cause: error });
}

/** Vault's `{"errors":[...]}`, on one line; never the request. */
function vaultErrors(body: unknown, status: number): string {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  const list = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  const text = list
    .join('; ')
    .replace(/\d+ errors? occurred:/g, '')
    .replace(/\s*\*\s+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text === '' ? `HTTP ${status}` : text;
}

/** The detail with every known secret and anything token- or document-shaped removed, bounded. */
export function scrub(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  return clean
    .replace(/sk-ant-[A-Za-z0-9_-]+/g, '[redacted]')
    .replace(/\b(?:hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{16,}/g, '[redacted]')
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/\{.*\}/g, '[redacted]')
    .slice(0, 300);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
