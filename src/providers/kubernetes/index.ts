/**
 * A Kubernetes Secret as a read-write store, through the API server (never a mounted file: those cannot be
 * written, and a subPath mount never even updates).
 *
 * - `--secret [namespace/]name[#key]`: the key (default `credentials.json`) of Secret `name` holds the
 *   credentials JSON (base64 in `data`, as always for Secrets). The namespace defaults to the kubeconfig
 *   context's, or the pod's.
 * - Versions are the Secret's `metadata.resourceVersion`. Writes are compare-and-swap: a PUT (verb `update`)
 *   of the Secret as read, with its resourceVersion, so the API server answers 409 when anyone changed it
 *   since (a ConflictError: re-read, re-decide). The Secret's other keys, labels and annotations are kept.
 * - A write to a Secret that does not exist (push) creates it (verb `create`) with the label
 *   app.kubernetes.io/managed-by: claude-creds; an existing Secret without the key gets the key added.
 * - The connection (kubeconfig or in-cluster, see config.ts) is resolved at the first call, so --dry-run
 *   and a provider that is never used read no file.
 *
 * Providers never retry: 429, 5xx and an unreachable server become StoreUnavailableError for the shared
 * retry policy.
 */
import { access, readFile } from 'node:fs/promises';
import { ConfigError, ConflictError, NotFoundError, type ClaudeCredsError } from '../../core/errors.js';
import type { CallOptions, Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';
import { printable } from '../../core/printable.js';
import { callSignal } from '../call-signal.js';
import { createApiClient, type ApiClient, type ApiResponse } from './client.js';
import { MANAGED_BY_LABEL, MANAGER, describeConnectionSource, parseSecretRef, resolveConnection } from './config.js';
import type { Connection } from './connection.js';
import { namespaceMissing, statusError, transportError, type CallContext, type Verb } from './errors.js';
import type { ExecRunner } from './exec-credential.js';

export { DEFAULT_KEY, parseSecretRef } from './config.js';

export interface KubernetesProviderDeps {
  readonly readTextFile?: (path: string) => Promise<string>;
  readonly fileExists?: (path: string) => Promise<boolean>;
  readonly runExec?: ExecRunner;
  readonly now?: () => number;
}

interface SecretObject {
  readonly metadata?: { readonly resourceVersion?: string; readonly managedFields?: unknown; readonly [field: string]: unknown };
  readonly data?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

interface Session {
  readonly connection: Connection;
  readonly client: ApiClient;
  readonly namespace: string;
}

/** Objects read recently, by resourceVersion: a write decided on one of them PUTs it without another GET. */
const REMEMBERED = 8;

export async function createKubernetesProvider(config: ProviderConfig, deps: KubernetesProviderDeps = {}): Promise<Provider> {
  const ref = parseSecretRef(config.secret);
  const readTextFile = deps.readTextFile ?? ((path: string) => readFile(path, 'utf8'));
  const fileExists = deps.fileExists ?? ((path: string) => access(path).then(() => true, () => false));
  const now = deps.now ?? Date.now;
  const source = describeConnectionSource(config);
  const remembered = new Map<string, SecretObject>();
  let session: Promise<Session> | undefined;
  let resolved: Session | undefined;

  function open(): Promise<Session> {
    session ??= resolveConnection(config, { readTextFile, fileExists }).then(
      (connection) => {
        const client = createApiClient(connection, { readTextFile, runExec: deps.runExec, env: config.env, now });
        resolved = { connection, client, namespace: ref.namespace ?? connection.namespace };
        return resolved;
      },
      (error: unknown) => {
        session = undefined; // a kubeconfig fixed meanwhile is picked up on the next call
        throw error;
      },
    );
    return session;
  }

  const context = (s: Session, verb: Verb): CallContext => ({
    verb,
    namespace: s.namespace,
    name: ref.name,
    key: ref.key,
    server: s.connection.server.origin,
    identity: s.connection.identity,
    inCluster: s.connection.origin === 'in-cluster',
    secrets: s.client.secrets(),
  });
  const collection = (s: Session) => `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/secrets`;
  const item = (s: Session) => `${collection(s)}/${encodeURIComponent(ref.name)}`;
  const where = (s: Session) => `Secret "${ref.name}" in namespace "${s.namespace}"`;

  async function call(s: Session, verb: Verb, method: 'GET' | 'PUT' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined): Promise<ApiResponse> {
    try {
      return await s.client.request({ method, path, body, signal });
    } catch (error) {
      throw transportError(error, context(s, verb));
    }
  }

  function remember(secret: SecretObject): string {
    const version = secret.metadata?.resourceVersion;
    if (typeof version !== 'string' || version === '') throw new ConfigError('the API server answered a Secret without metadata.resourceVersion');
    remembered.delete(version);
    remembered.set(version, secret);
    while (remembered.size > REMEMBERED) remembered.delete(remembered.keys().next().value as string);
    return version;
  }

  /** The Secret as it is now; undefined when it does not exist (a missing namespace is still an error). */
  async function current(s: Session, signal: AbortSignal | undefined): Promise<SecretObject | undefined> {
    const response = await call(s, 'get', 'GET', item(s), undefined, signal);
    if (response.status === 200 && isSecret(response.body)) return response.body;
    if (response.status === 404 && !namespaceMissing(response.body)) return undefined;
    throw failure(s, 'get', response);
  }

  function failure(s: Session, verb: Verb, response: ApiResponse): ClaudeCredsError {
    if (response.status >= 200 && response.status < 300) {
      return new ConfigError(`the API server ${s.connection.server.origin} answered ${verb} ${where(s)} with something that is not a Secret; check --endpoint`);
    }
    return statusError(response.status, response.body, context(s, verb));
  }

  /** The key's value as text; undefined when the Secret lacks the key. */
  function valueOf(s: Session, secret: SecretObject): string | undefined {
    const value = secret.data?.[ref.key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
      throw new ConfigError(`${where(s)}: the value of "${ref.key}" is not base64, as Secret data must be`);
    }
    return Buffer.from(value, 'base64').toString('utf8');
  }

  function missingKey(s: Session, secret: SecretObject): NotFoundError {
    const keys = Object.keys(secret.data ?? {});
    const has = keys.length === 0 ? 'it has no keys' : `its keys: ${printable(keys.slice(0, 20).join(', '))}`;
    return new NotFoundError(
      `${where(s)} has no key "${ref.key}" (${has}); store the credentials under "${ref.key}" or name the key with --secret ${s.namespace}/${ref.name}#KEY`,
    );
  }

  /** PUT `base` with our value: compare-and-swap on its resourceVersion. */
  async function replace(s: Session, base: SecretObject, payload: string, signal: AbortSignal | undefined): Promise<WriteOutcome> {
    const { managedFields: _managedFields, ...metadata } = base.metadata ?? {};
    const body = { ...base, apiVersion: 'v1', kind: 'Secret', metadata, data: { ...base.data, [ref.key]: Buffer.from(payload, 'utf8').toString('base64') } };
    const response = await call(s, 'update', 'PUT', `${item(s)}?fieldManager=${MANAGER}`, body, signal);
    if (response.status === 200 && isSecret(response.body)) return { version: remember(response.body) };
    if (response.status === 409) {
      // A retry whose first attempt landed (its answer lost) finds its own value under a newer version.
      const now = await current(s, signal);
      if (now !== undefined && valueOf(s, now) === payload) return { version: remember(now) };
    }
    throw failure(s, 'update', response);
  }

  /** expectedVersion undefined: the key did not exist when read. Create the Secret, or add the key. */
  async function create(s: Session, payload: string, signal: AbortSignal | undefined): Promise<WriteOutcome> {
    const existing = await current(s, signal);
    if (existing !== undefined) {
      const value = valueOf(s, existing);
      if (value === payload) return { version: remember(existing) };
      if (value !== undefined) {
        throw new ConflictError(`${where(s)} now holds "${ref.key}", which did not exist when it was read; re-read it and decide again`);
      }
      return replace(s, existing, payload, signal);
    }
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.name, namespace: s.namespace, labels: { [MANAGED_BY_LABEL]: MANAGER } },
      type: 'Opaque',
      data: { [ref.key]: Buffer.from(payload, 'utf8').toString('base64') },
    };
    const response = await call(s, 'create', 'POST', `${collection(s)}?fieldManager=${MANAGER}`, body, signal);
    if ((response.status === 201 || response.status === 200) && isSecret(response.body)) return { version: remember(response.body) };
    throw failure(s, 'create', response);
  }

  const provider = {
    name: 'kubernetes',
    get location(): string {
      if (resolved === undefined) return `kubernetes secret ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}#${ref.key} (${source})`;
      return `kubernetes secret ${resolved.namespace}/${ref.name}#${ref.key} at ${resolved.connection.server.origin}`;
    },
    writes: 'compare-and-swap',

    async read(options?: CallOptions): Promise<StoredPayload> {
      const signal = callSignal(options);
      const s = await open();
      const response = await call(s, 'get', 'GET', item(s), undefined, signal);
      if (response.status !== 200 || !isSecret(response.body)) throw failure(s, 'get', response);
      const secret = response.body;
      const value = valueOf(s, secret);
      if (value === undefined) throw missingKey(s, secret);
      return { payload: value, version: remember(secret) };
    },

    async write(request: WriteRequest, options?: CallOptions): Promise<WriteOutcome> {
      const signal = callSignal(options);
      const s = await open();
      const { payload, expectedVersion } = request;
      if (expectedVersion === undefined) return create(s, payload, signal);
      let base = remembered.get(expectedVersion);
      if (base === undefined) {
        const now = await current(s, signal);
        if (now === undefined) throw new ConflictError(`${where(s)} was deleted since it was read; re-read it and decide again`);
        if (now.metadata?.resourceVersion !== expectedVersion) {
          if (valueOf(s, now) === payload) return { version: remember(now) };
          throw new ConflictError(`${where(s)} changed since it was read (resourceVersion ${expectedVersion} is now ${String(now.metadata?.resourceVersion)}); re-read it and decide again`);
        }
        base = now;
      }
      return replace(s, base, payload, signal);
    },

    async close(): Promise<void> {
      resolved?.client.close();
    },
  } satisfies Provider;

  return provider;
}

function isSecret(body: unknown): body is SecretObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const record = body as { kind?: unknown; data?: unknown };
  return record.kind === 'Secret' && (record.data === undefined || (typeof record.data === 'object' && record.data !== null && !Array.isArray(record.data)));
}
