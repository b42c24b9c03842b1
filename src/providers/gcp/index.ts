/**
 * Google Cloud Secret Manager provider (gRPC, `@google-cloud/secret-manager` v1 client).
 *
 * Reads AccessSecretVersion and verifies the payload's CRC32C. Secret Manager has no conditional write,
 * so writes are `detect-conflict`: the latest version number is checked right before AddSecretVersion,
 * the number the store hands back must be the next one, and the latest is checked again after (a writer
 * landing right after ours is on top of it); `readSince` returns the versions written
 * since one, for the caller's re-decision after a conflict. After a write that landed on top, versions
 * older than the newest `--gcp-keep-versions` are destroyed (prune.ts).
 *
 * client.ts is the port over the SDK, errors.ts maps what it throws, config.ts reads the secret and the
 * endpoint, payload.ts checks checksums.
 */
import { ConfigError, ConflictError, DependencyError, NotFoundError, PermissionDeniedError, ReadOnlyProviderError, describeCause } from '../../core/errors.js';
import type {
  CallOptions,
  Provider,
  ProviderConfig,
  ReadSinceOptions,
  StoredPayload,
  WriteOutcome,
  WriteRequest,
} from '../../core/provider.js';
import { GCP_SDK_PACKAGE, budget, createPort, loadSdk, type AccessedVersion, type GcpCall, type GcpSdk } from './client.js';
import { keepVersions, parseEndpoint, resolveSecret } from './config.js';
import { AlreadyExists, classify, firstLine, grpcCode, guarded, type Action, type ErrorContext } from './errors.js';
import { crc32c, verifyChecksum, versionNumber } from './payload.js';
import { pruneOldVersions } from './prune.js';

export { GCP_SDK_PACKAGE } from './client.js';

export interface GcpProviderDeps {
  readonly loadSdk?: () => Promise<GcpSdk>;
}

/** Versions `readSince` returns at most unless told otherwise. */
const DEFAULT_READ_SINCE_LIMIT = 10;
/** A version that cannot be read: DISABLED or DESTROYED (FAILED_PRECONDITION), or gone (NOT_FOUND). */
const UNREADABLE_CODES = new Set([5, 9]);

export async function createGcpProvider(config: ProviderConfig, deps: GcpProviderDeps = {}): Promise<Provider> {
  const ref = resolveSecret(config);
  const endpoint = parseEndpoint(config.endpoint);
  const keep = keepVersions(config.gcpKeepVersions);
  if (config.caFile !== undefined) {
    throw new ConfigError(
      '--ca-file is not supported by the gcp provider; point grpc at extra roots with GRPC_DEFAULT_SSL_ROOTS_FILE_PATH instead',
    );
  }
  let sdk: GcpSdk;
  try {
    sdk = await (deps.loadSdk ?? loadSdk)();
  } catch (error) {
    throw new DependencyError(
      `could not load ${GCP_SDK_PACKAGE} (${firstLine(error)}); install it (npm install ${GCP_SDK_PACKAGE}) or use an image that includes it`,
      { cause: error },
    );
  }
  const port = createPort(sdk, endpoint, ref.project);
  const readName = `${ref.secret}/versions/${ref.pinned ?? 'latest'}`;
  const latestName = `${ref.secret}/versions/latest`;
  const ctx = (action: Action, resource: string): ErrorContext => ({ action, resource, ref });
  const accessed = async (name: string, call: GcpCall): Promise<AccessedVersion> => {
    const version = await guarded(() => port.access(name, call), ctx('access', name));
    verifyChecksum(version, name);
    return version;
  };
  const stored = (version: AccessedVersion): StoredPayload => ({ payload: version.data, version: versionNumber(version.name) });

  /** Each kind of pruning trouble is reported once per provider, then pruning goes on quietly. */
  const reported = new Set<string>();
  async function prune(newest: number, call: () => GcpCall): Promise<string[]> {
    if (keep === 'off') return [];
    try {
      await pruneOldVersions(port, ref, newest, keep, call);
      return [];
    } catch (error) {
      const mapped = classify(error, ctx('prune', ref.secret));
      const kind = mapped instanceof PermissionDeniedError ? 'permission' : 'other';
      if (reported.has(kind)) return [];
      reported.add(kind);
      return kind === 'permission'
        ? [`could not remove versions of ${ref.secret} older than the newest ${keep}: ${mapped.message}; or pass --gcp-keep-versions off to keep them all. The write itself landed`]
        : [`could not remove old versions of ${ref.secret} for now (${describeCause(mapped)}); the next write tries again. The write itself landed`];
    }
  }

  const provider = {
    name: 'gcp',
    location: ref.pinned === undefined ? ref.secret : readName,
    writes: ref.pinned === undefined ? 'detect-conflict' : 'none',

    async read(options: CallOptions = {}): Promise<StoredPayload> {
      return stored(await accessed(readName, budget(options)()));
    },

    async readSince(since: string | undefined, options: ReadSinceOptions = {}): Promise<StoredPayload[]> {
      const call = budget(options);
      let latest: AccessedVersion;
      try {
        latest = await accessed(latestName, call());
      } catch (error) {
        if (error instanceof NotFoundError) return [];
        throw error;
      }
      const top = Number(versionNumber(latest.name));
      const after = since === undefined ? 0 : Number(since);
      if (!Number.isSafeInteger(top) || !Number.isSafeInteger(after) || top <= after) return [];
      // Version numbers are consecutive, so the versions in between are read by number: that needs only
      // secretmanager.versions.access, which a syncing identity has, not versions.list.
      const limit = Math.max(1, options.limit ?? DEFAULT_READ_SINCE_LIMIT);
      const found: StoredPayload[] = [];
      for (let number = Math.max(after + 1, top - limit + 1); number < top; number += 1) {
        const name = `${ref.secret}/versions/${number}`;
        let version: AccessedVersion;
        try {
          version = await port.access(name, call());
        } catch (error) {
          if (UNREADABLE_CODES.has(grpcCode(error) ?? -1)) continue;
          throw classify(error, ctx('access', name));
        }
        verifyChecksum(version, name);
        found.push(stored(version));
      }
      found.push(stored(latest));
      return found;
    },

    async write(request: WriteRequest, options: CallOptions = {}): Promise<WriteOutcome> {
      if (ref.pinned !== undefined) {
        throw new ReadOnlyProviderError(
          `--secret pins version ${ref.pinned} of ${ref.secret}; a pinned version cannot be written: pass --secret ${ref.secret} to write new versions`,
        );
      }
      const call = budget(options);
      // AccessSecretVersion rather than GetSecretVersion: a syncing identity already holds
      // secretmanager.versions.access, while versions.get would need another role.
      let current: string | undefined;
      try {
        const latest = await guarded(() => port.access(latestName, call()), ctx('access', latestName));
        current = versionNumber(latest.name);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        current = undefined;
      }
      if (current !== request.expectedVersion) {
        throw new ConflictError(
          `GCP secret ${ref.secret} changed since it was read: its latest version is ${current ?? '(none)'}, expected ${request.expectedVersion ?? '(none)'}; nothing was written, re-read and decide again`,
        );
      }
      if (current === undefined) {
        try {
          await guarded(() => port.createSecret(ref.project, ref.secretId, call()), ctx('create', ref.secret));
        } catch (error) {
          // ALREADY_EXISTS: the secret is there without versions (or appeared meanwhile); adding is right.
          if (!(error instanceof AlreadyExists)) throw error;
        }
      }
      const data = Buffer.from(request.payload, 'utf8');
      const added = await guarded(
        () => port.addVersion(ref.secret, data, crc32c(data), call()),
        ctx('add', ref.secret),
      );
      const written = versionNumber(added.name);
      const expectedNext = String((current === undefined ? 0 : Number(current)) + 1);
      if (written !== expectedNext) {
        throw new ConflictError(
          `another writer added a version to GCP secret ${ref.secret} at the same time: ours landed as version ${written ?? '(unknown)'}, expected ${expectedNext}; re-read to see which credentials are newest`,
        );
      }
      // A writer that added its version right after ours put it on top: ours landed, but below.
      const after = versionNumber((await guarded(() => port.access(latestName, call()), ctx('access', latestName))).name);
      if (after !== written) {
        throw new ConflictError(
          `another writer added version ${after ?? '(unknown)'} to GCP secret ${ref.secret} right after ours (${written ?? 'unknown'}); ours landed but is not the latest: re-read to see which credentials are newest`,
        );
      }
      return { version: written, warnings: await prune(Number(written), call) };
    },

    requestsSent: () => port.requestsSent(),
    close: () => port.close(),
  } satisfies Provider;
  return provider;
}
