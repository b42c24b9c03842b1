/**
 * The narrow port onto Secret Manager's gRPC API (`@google-cloud/secret-manager` v1 client, loaded only
 * when this provider is chosen). Each call is sent once (the shared retry policy governs), bounded by
 * the caller's time, counted as it leaves, and its answer may not exceed MAX_STORE_ANSWER_BYTES: gax
 * would otherwise lift grpc-js's receive limit altogether (-1).
 */
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js';
import { commonJsExports } from '../../io/commonjs-exports.js';
import { MAX_STORE_ANSWER_BYTES, RequestCounter } from '../answer-limit.js';

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

/** Per-call bounds handed to the port. */
export interface GcpCall {
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

export interface AccessedVersion {
  readonly name: string;
  readonly data: Uint8Array;
  readonly dataCrc32c: unknown;
}

export interface ListedVersion {
  readonly name: string;
  readonly state: string;
  /** Already destroyed, with the destruction delayed (the secret's version_destroy_ttl): DISABLED until then. */
  readonly destroyScheduled: boolean;
}

export interface VersionPage {
  readonly versions: readonly ListedVersion[];
  /** Empty when this was the last page. */
  readonly nextPageToken: string;
}

/** The narrow port: the calls the provider makes. Everything SDK-shaped stays behind it. */
export interface SecretManagerPort {
  access(name: string, call: GcpCall): Promise<AccessedVersion>;
  addVersion(parent: string, data: Uint8Array, dataCrc32c: number, call: GcpCall): Promise<{ name: string }>;
  createSecret(project: string, secretId: string, call: GcpCall): Promise<void>;
  /** One page of versions, newest first, of the states named in `filter` (the API's filter language). */
  listVersions(parent: string, filter: string, pageToken: string, call: GcpCall): Promise<VersionPage>;
  destroyVersion(name: string, call: GcpCall): Promise<void>;
  /** RPCs started on the channel so far. */
  requestsSent(): number;
  close(): Promise<void>;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly insecure: boolean;
}

export async function loadSdk(): Promise<GcpSdk> {
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

/** Page size for version lists: one page holds the versions kept plus many to prune. */
const LIST_PAGE_SIZE = 100;

export function createPort(sdk: GcpSdk, endpoint: Endpoint | undefined, project: string): SecretManagerPort {
  const sent = new RequestCounter();
  const options: ClientOptions = {
    fallback: false,
    projectId: project,
    // grpc-js refuses a message whose announced length passes this before reading its body.
    'grpc.max_receive_message_length': MAX_STORE_ANSWER_BYTES,
    // gax hands this to the grpc-js client, which calls it once for every RPC it starts.
    'grpc.callInvocationTransformer': (properties: unknown) => {
      sent.add();
      return properties;
    },
  };
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
    async listVersions(parent, filter, pageToken, call) {
      const [versions, , raw] = await bounded(call, async () => {
        await ready();
        // One page per call: gax's auto-pagination would fetch every page, however many.
        return client.listSecretVersions({ parent, filter, pageSize: LIST_PAGE_SIZE, pageToken }, { ...gaxOptions(call), autoPaginate: false });
      });
      return {
        versions: versions.map((v) => ({ name: v.name ?? '', state: String(v.state ?? ''), destroyScheduled: v.scheduledDestroyTime != null })),
        nextPageToken: raw?.nextPageToken ?? '',
      };
    },
    async destroyVersion(name, call) {
      await bounded(call, async () => {
        await ready();
        return client.destroySecretVersion({ name }, gaxOptions(call));
      });
    },
    requestsSent: () => sent.value,
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

/** A write makes several calls; together they must fit in the caller's time, not each of them. */
export function budget(options: { readonly timeoutMs?: number | undefined; readonly signal?: AbortSignal | undefined }): () => GcpCall {
  if (options.timeoutMs === undefined) return () => ({ timeoutMs: undefined, signal: options.signal });
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

export class AbortedCall extends Error {
  override readonly name: string = 'AbortedCall';
  constructor() {
    super('the call was abandoned: its deadline passed');
  }
}
