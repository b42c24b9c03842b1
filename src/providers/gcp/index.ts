/**
 * Google Cloud Secret Manager provider (gRPC, `@google-cloud/secret-manager` v1 client).
 *
 * Reads AccessSecretVersion and verifies the payload's CRC32C. Secret Manager has no conditional write,
 * so writes are `detect-conflict`: the latest version number is checked right before AddSecretVersion
 * and the number the store hands back is checked right after.
 */
import CRC32C from 'crc-32/crc32c.js';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js';
import {
  ConfigError,
  ConflictError,
  DependencyError,
  IntegrityError,
  NotFoundError,
  PermissionDeniedError,
  ReadOnlyProviderError,
  StoreUnavailableError,
} from '../../core/errors.js';
import { commonJsExports } from '../../io/commonjs-exports.js';
import type { CallOptions, Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';

export const GCP_SDK_PACKAGE = '@google-cloud/secret-manager';
// Only the v1 client: the package index also loads v1beta2 and the static protos (~20 ms more).
const CLIENT_MODULE = '@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js';

/** The SDK's own default per-call timeout, used when the caller gives none. */
const DEFAULT_TIMEOUT_MS = 60_000;

type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;
type ChannelCredentials = NonNullable<ClientOptions['sslCreds']>;

/** What the provider needs from the SDK packages; injectable so a test can prove a failed load. */
export interface GcpSdk {
  readonly SecretManagerServiceClient: new (options: ClientOptions) => SecretManagerServiceClient;
  /** Plaintext channel credentials from the grpc-js instance google-gax uses. */
  readonly createInsecureCredentials: () => ChannelCredentials;
}

export interface GcpProviderDeps {
  readonly loadSdk?: () => Promise<GcpSdk>;
}

/** Per-call bounds handed to the port. */
interface GcpCall {
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

interface AccessedVersion {
  readonly name: string;
  readonly data: Uint8Array;
  readonly dataCrc32c: unknown;
}

/** The narrow port: the three calls the provider makes. Everything SDK-shaped stays behind it. */
interface SecretManagerPort {
  access(name: string, call: GcpCall): Promise<AccessedVersion>;
  addVersion(parent: string, data: Uint8Array, dataCrc32c: number, call: GcpCall): Promise<{ name: string }>;
  createSecret(project: string, secretId: string, call: GcpCall): Promise<void>;
  close(): Promise<void>;
}

interface SecretRef {
  readonly project: string;
  readonly secretId: string;
  /** `projects/P/secrets/S` */
  readonly secret: string;
  /** A version pinned in --secret (`.../versions/N`), read-only. */
  readonly pinned: string | undefined;
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly insecure: boolean;
}

export async function createGcpProvider(config: ProviderConfig, deps: GcpProviderDeps = {}): Promise<Provider> {
  const ref = resolveSecret(config);
  const endpoint = parseEndpoint(config.endpoint);
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
  const ctx = (action: Action, resource: string): ErrorContext => ({ action, resource, ref });

  const provider = {
    name: 'gcp',
    location: ref.pinned === undefined ? ref.secret : readName,
    writes: ref.pinned === undefined ? 'detect-conflict' : 'none',

    async read(options: CallOptions = {}): Promise<StoredPayload> {
      const accessed = await guarded(() => port.access(readName, toCall(options)), ctx('access', readName));
      verifyChecksum(accessed, readName);
      return { payload: accessed.data, version: versionNumber(accessed.name) };
    },

    async write(request: WriteRequest, options: CallOptions = {}): Promise<WriteOutcome> {
      if (ref.pinned !== undefined) {
        throw new ReadOnlyProviderError(
          `--secret pins version ${ref.pinned} of ${ref.secret}; a pinned version cannot be written: pass --secret ${ref.secret} to write new versions`,
        );
      }
      const call = budget(options);
      const latestName = `${ref.secret}/versions/latest`;
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
      return { version: written };
    },

    close: () => port.close(),
  } satisfies Provider;
  return provider;
}

async function loadSdk(): Promise<GcpSdk> {
  // Literal specifiers, so a bundler can follow them; only the v1 client, not the package index.
  const module = (await import('@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js')) as {
    SecretManagerServiceClient?: GcpSdk['SecretManagerServiceClient'];
    default?: { SecretManagerServiceClient?: GcpSdk['SecretManagerServiceClient'] };
  };
  const Client = module.SecretManagerServiceClient ?? module.default?.SecretManagerServiceClient;
  if (Client === undefined) throw new Error(`${CLIENT_MODULE} has no SecretManagerServiceClient`);
  // The channel credentials must come from the grpc-js instance of the google-gax the client uses;
  // there is one google-gax in the install (the SDK's dependency, pinned to the same major here).
  type Gax = { grpc: { credentials: { createInsecure(): ChannelCredentials } } };
  const gax = commonJsExports((await import('google-gax')) as unknown as Gax, 'grpc');
  return { SecretManagerServiceClient: Client, createInsecureCredentials: () => gax.grpc.credentials.createInsecure() };
}

function createPort(sdk: GcpSdk, endpoint: Endpoint | undefined, project: string): SecretManagerPort {
  const options: ClientOptions = { fallback: false, projectId: project };
  if (endpoint !== undefined) {
    options.apiEndpoint = endpoint.host;
    options.port = endpoint.port;
  }
  if (endpoint?.insecure) {
    // With sslCreds, google-gax never asks the auth client for a token (no credentials are sent to an
    // emulator). A fixed universe domain stops its createStub from resolving ADC just to compare
    // universes, which would otherwise probe the metadata server (169.254.169.254).
    options.sslCreds = sdk.createInsecureCredentials();
    options.universeDomain = 'googleapis.com';
  }
  const client = new sdk.SecretManagerServiceClient(options);
  silenceRequestLogging(client);
  // Every generated method does `this.initialize().catch((err) => { throw err; })`: when the stub
  // cannot be built (no ADC, say) that is an unhandled rejection, which kills the process. So the
  // stub is awaited here first, and the method is only called once it exists.
  const ready = async (): Promise<void> => {
    await client.initialize();
  };

  return {
    async access(name, call) {
      const [response] = await bounded(call, async () => {
        await ready();
        return client.accessSecretVersion({ name }, gaxOptions(call));
      });
      const data = response.payload?.data;
      return {
        name: response.name ?? '',
        data: typeof data === 'string' ? Buffer.from(data, 'base64') : (data ?? new Uint8Array()),
        dataCrc32c: response.payload?.dataCrc32c,
      };
    },
    async addVersion(parent, data, dataCrc32c, call) {
      const [version] = await bounded(call, async () => {
        await ready();
        return client.addSecretVersion({ parent, payload: { data, dataCrc32c } }, gaxOptions(call));
      });
      return { name: version.name ?? '' };
    },
    async createSecret(projectId, secretId, call) {
      await bounded(call, async () => {
        await ready();
        return client.createSecret(
          { parent: `projects/${projectId}`, secretId, secret: { replication: { automatic: {} } } },
          gaxOptions(call),
        );
      });
    },
    // close() chains on the stub promise, which is rejected when the stub never came up: nothing to close.
    close: () => client.close().catch(() => undefined),
  };
}

/**
 * The client logs every request and response (payload bytes included) when GOOGLE_SDK_NODE_LOGGING
 * names it; credentials must never reach a log, so this client's logger is a no-op.
 */
function silenceRequestLogging(client: SecretManagerServiceClient): void {
  const target = client as unknown as { _log?: unknown };
  if ('_log' in target) target._log = { info: () => undefined, warn: () => undefined, error: () => undefined };
}

/**
 * No SDK retries (retry: null): the shared policy governs. The SDK's defaults would retry UNAVAILABLE
 * and RESOURCE_EXHAUSTED on AccessSecretVersion for up to 600 s. `timeout` becomes the gRPC deadline.
 */
function gaxOptions(call: GcpCall): { timeout: number; retry: null } {
  return { timeout: Math.max(1, Math.floor(call.timeoutMs ?? DEFAULT_TIMEOUT_MS)), retry: null };
}

function toCall(options: CallOptions): GcpCall {
  return { timeoutMs: options.timeoutMs, signal: options.signal };
}

/** A write makes up to three calls; together they must fit in the caller's time, not each of them. */
function budget(options: CallOptions): () => GcpCall {
  if (options.timeoutMs === undefined) return () => toCall(options);
  const deadline = Date.now() + options.timeoutMs;
  return () => ({ timeoutMs: Math.max(1, deadline - Date.now()), signal: options.signal });
}

/** Slack after the gRPC deadline before our own timer gives up, so the server's answer wins the race. */
const DEADLINE_GRACE_MS = 250;

/**
 * google-gax takes no AbortSignal (its cancellable promise is lost behind the generated method), so an
 * abort ends our wait at once while the gRPC deadline ends the call itself. The timer also bounds what
 * the gRPC deadline does not cover: building the stub, which may wait on credentials.
 */
function bounded<T>(call: GcpCall, run: () => Promise<T>): Promise<T> {
  const { signal } = call;
  if (signal?.aborted) return Promise.reject(new AbortedCall());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedCall());
    const timer = setTimeout(onAbort, (call.timeoutMs ?? DEFAULT_TIMEOUT_MS) + DEADLINE_GRACE_MS);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    run()
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
  });
}

class AbortedCall extends Error {
  constructor() {
    super('the call was abandoned: its deadline passed');
  }
}

/** Marks ALREADY_EXISTS from CreateSecret, which the write path treats as success. */
class AlreadyExists extends Error {}

// --- configuration ----------------------------------------------------------------------------------

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const RESOURCE = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/;

function resolveSecret(config: ProviderConfig): SecretRef {
  const raw = config.secret?.trim() ?? '';
  const project = config.project?.trim() || config.env.GOOGLE_CLOUD_PROJECT?.trim() || undefined;
  if (raw === '') {
    throw new ConfigError(
      'no secret given for the gcp provider: pass --secret projects/PROJECT/secrets/NAME, or --secret NAME with --project PROJECT (or GOOGLE_CLOUD_PROJECT)',
    );
  }
  const match = RESOURCE.exec(raw);
  if (match) {
    const [, fromPath = '', secretId = '', version] = match;
    if (!SECRET_ID.test(secretId)) throw new ConfigError(`"${secretId}" in --secret is not a valid GCP secret name (letters, digits, - and _)`);
    if (version !== undefined && version !== 'latest' && !/^[1-9]\d*$/.test(version)) {
      throw new ConfigError(`--secret ${raw}: the version must be a number or "latest"`);
    }
    if (config.project !== undefined && config.project.trim() !== '' && config.project.trim() !== fromPath) {
      throw new ConfigError(`--secret names project ${fromPath} but --project is ${config.project.trim()}; drop one of them`);
    }
    return {
      project: fromPath,
      secretId,
      secret: `projects/${fromPath}/secrets/${secretId}`,
      pinned: version === undefined || version === 'latest' ? undefined : version,
    };
  }
  if (raw.includes('/')) {
    throw new ConfigError(
      `--secret ${raw} is not a GCP secret: use projects/PROJECT/secrets/NAME[/versions/N] or a bare NAME (regional secrets, projects/P/locations/L/..., are not supported)`,
    );
  }
  if (!SECRET_ID.test(raw)) throw new ConfigError(`"${raw}" is not a valid GCP secret name (letters, digits, - and _, at most 255)`);
  if (project === undefined) {
    throw new ConfigError(
      `no GCP project for secret ${raw}: pass --project PROJECT or set GOOGLE_CLOUD_PROJECT, or give --secret projects/PROJECT/secrets/${raw}`,
    );
  }
  return { project, secretId: raw, secret: `projects/${project}/secrets/${raw}`, pinned: undefined };
}

/** `host:port` or `https://host:port` (TLS + ADC), `http://host:port` (plaintext emulator, no credentials). */
function parseEndpoint(value: string | undefined): Endpoint | undefined {
  const raw = value?.trim();
  if (raw === undefined || raw === '') return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`--endpoint ${raw} is not host:port or http(s)://host:port`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(`--endpoint ${raw} is not host:port or http(s)://host:port`);
  }
  const insecure = url.protocol === 'http:';
  const port = url.port === '' ? (insecure ? 80 : 443) : Number(url.port);
  return { host: url.hostname, port, insecure };
}

// --- payload checks ---------------------------------------------------------------------------------

function crc32c(data: Uint8Array): number {
  // crc-32 returns a signed 32-bit int; the API's int64 carries the unsigned value.
  return CRC32C.buf(data) >>> 0;
}

function verifyChecksum(accessed: AccessedVersion, name: string): void {
  const expected = int64ToNumber(accessed.dataCrc32c);
  // Versions written before checksums existed carry none: nothing to verify against.
  if (expected === undefined) return;
  if (expected === null || expected !== crc32c(accessed.data)) {
    throw new IntegrityError(
      `GCP returned ${name} with a payload that fails its CRC32C check (${accessed.data.byteLength} bytes); it was discarded: retry, and if it persists add a fresh version`,
    );
  }
}

/** int64 arrives as a string (gax loads protos with longs: String), a number, a bigint or a Long. */
function int64ToNumber(value: unknown): number | undefined | null {
  if (value === undefined || value === null) return undefined;
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string') n = value.trim() === '' ? Number.NaN : Number(value);
  else if (typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high } = value as { low: unknown; high: unknown };
    if (typeof low !== 'number' || typeof high !== 'number') return null;
    n = (high >>> 0) * 2 ** 32 + (low >>> 0);
  } else return null;
  if (!Number.isSafeInteger(n)) return null;
  // Some encoders send the 32-bit value signed.
  return n < 0 && n >= -(2 ** 31) ? n >>> 0 : n;
}

function versionNumber(name: string): string | undefined {
  return /\/versions\/(\d+)$/.exec(name)?.[1];
}

// --- errors -----------------------------------------------------------------------------------------

type Action = 'access' | 'add' | 'create';

interface ErrorContext {
  readonly action: Action;
  /** The exact resource the call was about. */
  readonly resource: string;
  readonly ref: SecretRef;
}

const STATUS_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

const ROLES: Record<Action, { role: string; permission: string; on: (ref: SecretRef) => string; verb: string }> = {
  access: { role: 'roles/secretmanager.secretAccessor', permission: 'secretmanager.versions.access', on: (r) => r.secret, verb: 'read' },
  add: { role: 'roles/secretmanager.secretVersionAdder', permission: 'secretmanager.versions.add', on: (r) => r.secret, verb: 'add a version to' },
  create: { role: 'roles/secretmanager.admin', permission: 'secretmanager.secrets.create', on: (r) => `projects/${r.project}`, verb: 'create' },
};

const ADC_HELP =
  'set up Application Default Credentials: `gcloud auth application-default login`, GOOGLE_APPLICATION_CREDENTIALS=<key or workload identity federation file>, Workload Identity on GKE, or an attached service account on GCE/Cloud Run';

async function guarded<T>(run: () => Promise<T>, ctx: ErrorContext): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw classify(error, ctx);
  }
}

function classify(error: unknown, ctx: ErrorContext): Error {
  const { action, resource, ref } = ctx;
  if (error instanceof AbortedCall) {
    return new StoreUnavailableError(`GCP Secret Manager did not answer for ${resource} before the deadline`, { cause: error });
  }
  const code = grpcCode(error);
  const detail = safeDetail(error);
  const what = `${STATUS_NAMES[code ?? -1] ?? 'error'}${detail === '' ? '' : `: ${detail}`}`;
  switch (code) {
    case 4:
    case 8:
    case 10:
    case 13:
    case 14:
    case 1:
      return new StoreUnavailableError(`GCP Secret Manager unavailable for ${resource} (${what})`, { cause: error });
    case 2:
      if (/ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket|connection|stream|GOAWAY|RST_STREAM|http2/i.test(detail)) {
        return new StoreUnavailableError(`GCP Secret Manager unavailable for ${resource} (${what})`, { cause: error });
      }
      return new ConfigError(`GCP Secret Manager failed on ${resource} (${what}); check --endpoint and the service's status`, { cause: error });
    case 7: {
      const need = ROLES[action];
      return new PermissionDeniedError(
        `permission denied: the identity in use may not ${need.verb} ${action === 'create' ? ref.secret : resource}; grant ${need.role} (permission ${need.permission}) on ${need.on(ref)}${action === 'create' ? ` or create the secret first: gcloud secrets create ${ref.secretId} --project ${ref.project} --replication-policy automatic` : ''}`,
        { cause: error },
      );
    }
    case 16:
      return new PermissionDeniedError(`GCP rejected the credentials for ${resource} (UNAUTHENTICATED); ${ADC_HELP}`, { cause: error });
    case 5:
      return new NotFoundError(
        action === 'access'
          ? `GCP secret version ${resource} not found: secret ${ref.secretId} does not exist in project ${ref.project} or has no such version; check --secret and --project, or create it: gcloud secrets create ${ref.secretId} --project ${ref.project} --replication-policy automatic`
          : `GCP secret ${ref.secret} not found (deleted while writing?); check --secret and --project`,
        { cause: error },
      );
    case 6:
      return new AlreadyExists(resource);
    case 3:
    case 9:
    case 11:
      return new ConfigError(
        `GCP Secret Manager refused ${resource} (${what})${code === 9 ? '; if the version is disabled or destroyed, enable it or add a new version' : ''}`,
        { cause: error },
      );
    case 12:
      return new ConfigError(`${resource}: the endpoint does not serve Secret Manager v1 (${what}); check --endpoint`, { cause: error });
    case 15:
      return new IntegrityError(`GCP Secret Manager reported data loss for ${resource} (${what})`, { cause: error });
    default:
      break;
  }
  if (/default credentials|Could not load the default credentials|Unable to detect a Project Id|invalid_grant|getaddrinfo/i.test(detail)) {
    return new PermissionDeniedError(`no usable GCP credentials for ${resource} (${detail}); ${ADC_HELP}`, { cause: error });
  }
  return new ConfigError(`unexpected error from the GCP client on ${resource} (${detail || 'no detail'})`, { cause: error });
}

function grpcCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}

/**
 * The server's own words, kept short and scrubbed: an SDK message may quote a request, so anything
 * that looks like a token or an encoded blob is cut out.
 */
function safeDetail(error: unknown): string {
  let text: string;
  if (typeof error === 'object' && error !== null && typeof (error as { details?: unknown }).details === 'string') {
    text = (error as { details: string }).details;
  } else if (error instanceof Error) {
    text = error.message;
  } else {
    text = String(error);
  }
  const line = (text.split('\n')[0] ?? '')
    .replace(/sk-ant-[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/[A-Za-z0-9+=_-]{32,}/g, '[redacted]')
    .replace(/"?(accessToken|refreshToken)"?\s*[:=]\s*"?[^",}\s]*"?/gi, '$1=[redacted]')
    .trim();
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

function firstLine(error: unknown): string {
  return safeDetail(error) || 'unknown error';
}
