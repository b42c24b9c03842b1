/**
 * Azure Key Vault provider. Key Vault has no conditional write (no etag, no If-Match on secrets): every
 * setSecret adds a version. So writes are `detect-conflict`: check the latest version before writing and
 * again after, and report a ConflictError when another writer slipped in. A writer that lands between
 * our check and our write ends up below ours, where neither check sees it, so a write also lists the
 * versions created since the one it replaced. `readSince` returns those versions with their values,
 * for the caller's re-decision after a conflict.
 *
 * client.ts is the port over the SDK (loaded only when this provider is chosen), errors.ts maps what it
 * throws, config.ts reads the secret reference.
 */
import { ConfigError, ConflictError, NotFoundError, PermissionDeniedError, describeCause } from '../../core/errors.js';
import type { CallOptions, Provider, ProviderConfig, ReadSinceOptions, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';
import {
  createSdkPort,
  type AzureClientDeps,
  type KeyVaultSecretVersion,
  type KeyVaultSecretsPort,
  type KeyVaultVersionProperties,
} from './client.js';
import { parseAzureSecretRef, type AzureSecretTarget } from './config.js';
import { mapAzureError, type Action } from './errors.js';

export { DISABLE_INSTANCE_DISCOVERY_ENV } from './client.js';
export { parseAzureSecretRef } from './config.js';

export type AzureProviderDeps = AzureClientDeps;

const CONTENT_TYPE = 'application/json';
/** Versions `readSince` returns at most unless told otherwise. */
const DEFAULT_READ_SINCE_LIMIT = 10;
/**
 * Versions listed at most (25 per request). Key Vault lists them ordered by id, not by time, so finding
 * the newest means reading the whole list; past this many the check is skipped, with a warning.
 */
const MAX_LISTED_VERSIONS = 5000;

export async function createAzureProvider(config: ProviderConfig, deps: AzureProviderDeps = {}): Promise<Provider> {
  const target = parseAzureSecretRef(config);
  return createAzureProviderFromPort(target, await createSdkPort(target, config, deps));
}

/** The provider logic over any port: what the tests drive through the real SDK client. */
export function createAzureProviderFromPort(target: AzureSecretTarget, port: KeyVaultSecretsPort): Provider {
  const location = `${target.vaultUrl}/secrets/${target.name}${target.version === undefined ? '' : `/${target.version}`}`;

  const readLatest = async (signal: AbortSignal | undefined, action: Action): Promise<KeyVaultSecretVersion | undefined> => {
    try {
      return await port.getSecret(target.name, withSignal({}, signal));
    } catch (error) {
      const mapped = mapAzureError(error, { target, action });
      if (mapped instanceof NotFoundError) return undefined;
      throw mapped;
    }
  };

  /** The enabled versions created since `since` (all of them when undefined), oldest first; `since` itself left out. */
  const listSince = async (since: string | undefined, signal: AbortSignal | undefined): Promise<KeyVaultVersionProperties[]> => {
    let listed: KeyVaultVersionProperties[];
    try {
      listed = await port.listVersions(target.name, withSignal({ max: MAX_LISTED_VERSIONS + 1 }, signal));
    } catch (error) {
      const mapped = mapAzureError(error, { target, action: 'list' });
      if (mapped instanceof NotFoundError) return [];
      throw mapped;
    }
    if (listed.length > MAX_LISTED_VERSIONS) throw new TooManyVersions();
    // Whole seconds: a version created in the same second as `since` counts as after it.
    const from = since === undefined ? undefined : listed.find((v) => v.version === since)?.createdOn;
    return listed
      .filter((v) => v.enabled && v.version !== since && (from === undefined || (v.createdOn ?? Number.POSITIVE_INFINITY) >= from))
      .sort((a, b) => (a.createdOn ?? 0) - (b.createdOn ?? 0));
  };

  /** Each kind of trouble with the check after a write is reported once per provider. */
  const reported = new Set<string>();
  const warnOnce = (kind: string, message: string): string[] => {
    if (reported.has(kind)) return [];
    reported.add(kind);
    return [message];
  };

  const provider = {
    name: 'azure',
    location,
    writes: 'detect-conflict',

    async read(options: CallOptions = {}): Promise<StoredPayload> {
      let secret: KeyVaultSecretVersion;
      try {
        secret = await port.getSecret(
          target.name,
          withSignal(target.version === undefined ? {} : { version: target.version }, options.signal),
        );
      } catch (error) {
        throw mapAzureError(error, { target, action: 'read' });
      }
      if (secret.value === undefined) {
        throw new NotFoundError(`${location} has no value (a disabled or empty version?); store the credentials JSON in it`);
      }
      return { payload: secret.value, version: secret.version };
    },

    async readSince(since: string | undefined, options: ReadSinceOptions = {}): Promise<StoredPayload[]> {
      const latest = await readLatest(options.signal, 'read');
      if (latest?.version === undefined || latest.version === since || latest.value === undefined) return [];
      const limit = Math.max(1, options.limit ?? DEFAULT_READ_SINCE_LIMIT);
      const between = (await listSince(since, options.signal)).filter((v) => v.version !== latest.version);
      const found: StoredPayload[] = [];
      for (const { version } of limit > 1 ? between.slice(-(limit - 1)) : []) {
        try {
          const secret = await port.getSecret(target.name, withSignal({ version }, options.signal));
          if (secret.value !== undefined) found.push({ payload: secret.value, version });
        } catch (error) {
          // Disabled or deleted since it was listed: nothing to re-decide on.
          const mapped = mapAzureError(error, { target, action: 'read' });
          if (!(mapped instanceof NotFoundError) && !(mapped instanceof PermissionDeniedError && /disabled/i.test(mapped.message))) throw mapped;
        }
      }
      found.push({ payload: latest.value, version: latest.version });
      return found;
    },

    async write(request: WriteRequest, options: CallOptions = {}): Promise<WriteOutcome> {
      if (target.version !== undefined) {
        throw new ConfigError(
          `${location} pins version ${target.version}; Key Vault writes always add a new version, so drop the version from --secret to write`,
        );
      }
      const before = await readLatest(options.signal, 'write');
      if (before?.version !== request.expectedVersion) {
        throw new ConflictError(
          `${location} changed since it was read (latest version ${before?.version ?? 'none'}, expected ${request.expectedVersion ?? 'none'}); nothing was written: re-read and decide again`,
        );
      }
      let written: KeyVaultSecretVersion;
      try {
        written = await port.setSecret(target.name, request.payload, withSignal({ contentType: CONTENT_TYPE }, options.signal));
      } catch (error) {
        throw mapAzureError(error, { target, action: 'write', hide: [request.payload] });
      }
      const after = await readLatest(options.signal, 'write');
      if (after?.version !== written.version) {
        throw new ConflictError(
          `another writer added version ${after?.version ?? 'none'} to ${location} right after ours (${written.version ?? 'unknown'}); our version landed but is not the latest: re-read and decide again`,
        );
      }
      let between: KeyVaultVersionProperties[];
      try {
        between = (await listSince(before?.version, options.signal)).filter((v) => v.version !== written.version);
      } catch (error) {
        // Ours landed on top; only the check for a writer below it could not be made.
        const why =
          error instanceof TooManyVersions
            ? `it has more than ${MAX_LISTED_VERSIONS} versions to look through`
            : error instanceof PermissionDeniedError
              ? error.message
              : `${describeCause(error)}; the next write checks again`;
        return {
          version: written.version,
          warnings: warnOnce(error instanceof TooManyVersions ? 'many' : error instanceof PermissionDeniedError ? 'permission' : 'other', `could not check ${location} for a writer that landed just before ours (${why}); a newer login it wrote could stay below ours until its writer pushes again`),
        };
      }
      if (between.length > 0) {
        throw new ConflictError(
          `another writer added ${between.slice(0, 3).map((v) => v.version).join(', ')}${between.length > 3 ? ` and ${between.length - 3} more` : ''} to ${location} between our check and our write; ours (${written.version ?? 'unknown'}) landed on top of it: re-read and decide again`,
        );
      }
      return { version: written.version, warnings: [] };
    },

    requestsSent: () => port.requestsSent(),
  } satisfies Provider;
  return provider;
}

class TooManyVersions extends Error {
  override readonly name: string = 'TooManyVersions';
}

function withSignal<T extends object>(options: T, signal: AbortSignal | undefined): T & { abortSignal?: AbortSignal } {
  return signal === undefined ? options : { ...options, abortSignal: signal };
}
