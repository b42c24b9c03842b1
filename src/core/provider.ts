/**
 * The one interface every credentials store implements. A provider moves opaque payload text and a
 * version marker; parsing, validation and the freshness rule live in the core, never here.
 */

export const PROVIDER_NAMES = ['env', 'file', 'aws', 'gcp', 'azure', 'vault', 'kubernetes'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * What a provider can do with writes:
 * - `none`: read-only (env).
 * - `compare-and-swap`: `write` fails with ConflictError when the store's current version is no longer
 *   `expectedVersion`, so a concurrent writer is never overwritten blindly.
 * - `detect-conflict`: the store has no conditional write; the provider checks the version right before
 *   writing and again after, and reports a ConflictError when another writer slipped in. The write may
 *   already have landed then, on top of or below the other writer's: the caller re-decides on every
 *   version written since the one it read (`readSince`), so the freshest login ends on top.
 */
export type WriteCapability = 'none' | 'compare-and-swap' | 'detect-conflict';

export interface StoredPayload {
  /** The secret's value as stored: credentials JSON, or base64 of it. */
  readonly payload: string | Uint8Array;
  /** Opaque marker of the version read (AWS VersionId, GCP version number, file hash...). */
  readonly version: string | undefined;
}

export interface WriteRequest {
  /** The credentials JSON to store. */
  readonly payload: string;
  /** The version this write was decided on; undefined when the secret did not exist. */
  readonly expectedVersion: string | undefined;
}

export interface WriteOutcome {
  readonly version: string | undefined;
  /**
   * What went wrong after the write landed without failing it (a clean-up step that lacks a
   * permission, say), for the caller to log as warnings. A provider reports each kind of trouble once.
   */
  readonly warnings?: readonly string[];
}

export interface CallOptions {
  /** Aborted when the caller's deadline passes; providers hand it to their SDK. */
  readonly signal?: AbortSignal;
  /** Milliseconds left before the caller's deadline; providers bound their SDK's own retries by it. */
  readonly timeoutMs?: number;
}

export interface ReadSinceOptions extends CallOptions {
  /** At most this many versions, the newest ones; the provider's own default (10) when unset. */
  readonly limit?: number;
}

export interface Provider {
  readonly name: ProviderName;
  /** Where the secret lives, for logs and error messages: a path, a variable name, an ARN. Never a value. */
  readonly location: string;
  readonly writes: WriteCapability;
  /** Read the latest version. Throws NotFoundError, PermissionDeniedError, StoreUnavailableError... */
  read(options?: CallOptions): Promise<StoredPayload>;
  /** Store a new version; see WriteCapability. Read-only providers throw ReadOnlyProviderError. */
  write(request: WriteRequest, options?: CallOptions): Promise<WriteOutcome>;
  /**
   * `detect-conflict` stores: every readable version written after `version` (all of them when
   * undefined), oldest first, so the last one is the latest. Disabled or destroyed versions are left out.
   */
  readSince?(version: string | undefined, options?: ReadSinceOptions): Promise<StoredPayload[]>;
  /**
   * How many requests this provider has sent to its store so far: every HTTP request or RPC that left
   * the process, retries, authentication challenges and logins to the store's own API included.
   */
  requestsSent?(): number;
  /** Release clients and sockets. */
  close?(): Promise<void>;
}

/** Everything a provider factory may use. Built once by the CLI; providers never read process.env. */
export interface ProviderConfig {
  readonly name: ProviderName;
  /** `--secret`: a path (file), a variable name (env), a name/ARN/resource path/URL (cloud), [namespace/]name[#key] (kubernetes). */
  readonly secret: string | undefined;
  /** `--region` (aws); the SDK's own chain (AWS_REGION...) applies when unset. */
  readonly region: string | undefined;
  /** `--endpoint`: a LocalStack-style endpoint URL (aws, azure), host:port for gcp, the API server URL (kubernetes). */
  readonly endpoint: string | undefined;
  /** `--project` (gcp). */
  readonly project: string | undefined;
  /** `--vault-url` (azure). */
  readonly vaultUrl: string | undefined;
  /** `--ca-file`: PEM to trust for the store's TLS endpoint (private endpoints, tests), per client. */
  readonly caFile: string | undefined;
  /** A snapshot of the environment, handed in by the CLI (env provider, SDK options). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * gcp: after each write, destroy the versions older than the newest `n` (`--gcp-keep-versions`);
   * `'off'` keeps every version; unset means the provider's default (10).
   */
  readonly gcpKeepVersions?: number | 'off' | undefined;
}

export type ProviderFactory = (config: ProviderConfig) => Promise<Provider>;
