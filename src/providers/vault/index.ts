/**
 * HashiCorp Vault / OpenBao, KV secrets engine version 2, over its plain HTTP API (no client library:
 * two KV calls and two login calls do not need one).
 *
 * - `--secret <mount>/<path>[#field]`, e.g. `secret/claude/credentials`: the mount is the first segment.
 *   The API form `<mount>/data/<path>` is accepted too, and is the way to name a nested mount
 *   (`team/kv/data/claude`) or a path whose second segment is `data` (`secret/data/data/x`).
 * - The value: see kv-value.ts (a field, or the whole document).
 * - Versions: `data.metadata.version`. Writes are compare-and-swap with KV v2's check-and-set: `cas` is the
 *   version the caller read (0 = only if the secret does not exist); a mismatch is a ConflictError.
 * - Auth, first that is configured: `VAULT_TOKEN`; Kubernetes (`VAULT_K8S_ROLE`, the service account JWT
 *   at `VAULT_K8S_TOKEN_PATH` or the standard path, `VAULT_K8S_MOUNT` default `kubernetes`); AppRole
 *   (`VAULT_ROLE_ID` + `VAULT_SECRET_ID`, `VAULT_APPROLE_MOUNT` default `approle`). `~/.vault-token` is
 *   never read. See session.ts.
 * - `VAULT_ADDR` (or `--endpoint`), `VAULT_NAMESPACE` (X-Vault-Namespace), `--ca-file` or `VAULT_CACERT`
 *   (PEM trusted for this client only, instead of the system roots).
 *
 * client.ts is the HTTP port, errors.ts maps failures, config.ts reads the configuration.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, ConflictError, NotFoundError, PermissionDeniedError, describeCause, type ClaudeCredsError } from '../../core/errors.js';
import type { CallOptions, Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';
import { callSignal } from '../call-signal.js';
import { createHttpPort, type VaultClientSettings, type VaultHttpPort, type VaultHttpResponse } from './client.js';
import { authFrom, describeAuth, parseAddress, parseVaultSecret } from './config.js';
import { isTransient, unavailable, vaultErrors } from './errors.js';
import { isRecord, kvValue } from './kv-value.js';
import { createVaultSession, type Intent } from './session.js';

export { DEFAULT_FIELD, DEFAULT_K8S_TOKEN_PATH, parseVaultSecret, type VaultSecretRef } from './config.js';
export type { VaultClientSettings, VaultHttpPort, VaultHttpRequest, VaultHttpResponse } from './client.js';

const CAS_MISMATCH = /check-and-set parameter did not match the current version/i;

export interface VaultProviderDeps {
  readonly createPort?: (settings: VaultClientSettings) => VaultHttpPort;
  readonly readTextFile?: (path: string) => Promise<string>;
  readonly now?: () => number;
}

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
  const ca = await readCa(config.caFile, env.VAULT_CACERT, readText);

  const addressText = address.href.replace(/\/+$/, '');
  const apiPath = `${ref.mount}/data/${ref.path}`;
  const encodedPath = apiPath.split('/').map(encodeURIComponent).join('/');
  const fieldText = ref.field === undefined ? '' : `#${ref.field}`;
  const where = `Vault secret ${apiPath}${fieldText} at ${addressText}${namespace === undefined ? '' : ` (namespace ${namespace})`}`;
  const port = (deps.createPort ?? createHttpPort)({ address, namespace, ca });
  const session = createVaultSession({ auth, port, readText, now: deps.now ?? Date.now, addressText });
  const value = kvValue(ref, where);

  const kv = (method: 'GET' | 'POST', intent: Intent, body: unknown, signal: AbortSignal | undefined): Promise<VaultHttpResponse> =>
    session.kv(method, encodedPath, `${intent === 'read' ? 'reading' : 'writing'} ${where}`, body, signal);

  function failure(response: VaultHttpResponse, intent: Intent): ClaudeCredsError {
    const { status } = response;
    const detail = session.detailOf(response.body, status);
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
      return { payload: value.valueOf(found.data, found.version), version: String(found.version) };
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
      if (before?.data !== undefined && before.version > Number(expectedVersion ?? 0) && value.sameValue(before.data, payload)) {
        return { version: String(before.version) };
      }
      if (currentText !== expectedVersion) {
        const now = currentText === undefined ? 'it has no live version now' : `it is at version ${currentText} now`;
        const expected = expectedVersion === undefined ? 'expected it not to exist' : `expected version ${expectedVersion}`;
        throw new ConflictError(`${where} changed since it was read (${expected}; ${now}); re-read it and decide again`);
      }

      const data = value.dataFor(payload, before?.data);
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

    requestsSent: () => port.requestsSent(),

    async close(): Promise<void> {
      port.close();
    },
  } satisfies Provider;

  return provider;
}

/** `--ca-file`, else VAULT_CACERT: a PEM to trust for this client only. */
async function readCa(caFile: string | undefined, fromEnv: string | undefined, readText: (path: string) => Promise<string>): Promise<string | undefined> {
  const caPath = caFile ?? (fromEnv?.trim() || undefined);
  if (caPath === undefined) return undefined;
  const caSource = caFile !== undefined ? '--ca-file' : 'VAULT_CACERT';
  let ca: string;
  try {
    ca = await readText(caPath);
  } catch (error) {
    throw new ConfigError(`cannot read ${caSource} ${caPath} (${describeCause(error)})`, { cause: error });
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${caSource} ${caPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return ca;
}
