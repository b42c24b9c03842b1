/**
 * A fake Google Cloud Secret Manager: a real gRPC server on 127.0.0.1 speaking
 * `google.cloud.secretmanager.v1.SecretManagerService`, loaded at run time from the `.proto` files the
 * installed SDK ships (no codegen), so the real SDK client talks to it over the real wire protocol.
 * Secrets live in a VersionedStore under their full resource name (`projects/P/secrets/S`).
 */
import * as grpc from '@grpc/grpc-js';
import CRC32C from 'crc-32/crc32c.js';
import type { ProviderConfig } from '../../src/core/provider.js';
import { FaultInjector, sleep } from './faults.js';
import { FAULT_STATUS, RpcError, field, loadServiceDefinition, stateFilter, stringField, timestamp, toBytes, truncateAnswer, unsigned, utf8 } from './gcp-grpc-util.js';
import type { RunningFake } from './running-fake.js';
import { VersionedStore } from './versioned-store.js';
import type { StoredVersion } from './versioned-store.js';

export const FAKE_GCP_PROJECT = 'fake-project';

/** What the fake puts in `payload.dataCrc32c` of AccessSecretVersion answers. */
export type CrcMode = 'correct' | 'corrupt' | 'omit';

export interface FakeGcpOptions {
  readonly project?: string;
  /** Send a wrong `dataCrc32c` with every payload (same as `setCrcMode('corrupt')`). */
  readonly corruptCrc?: boolean;
  readonly store?: VersionedStore;
  readonly faults?: FaultInjector;
}

export interface RunningFakeGcp extends RunningFake {
  readonly project: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT`, the `--endpoint` value. */
  readonly endpoint: string;
  setCrcMode(mode: CrcMode): void;
  /** Mark a version DISABLED: accessing it answers FAILED_PRECONDITION, as the real service does. */
  disableVersion(secretName: string, versionNumber: number): void;
  /** The state of each version of `secretName`, oldest first. */
  versionStates(secretName: string): Array<'ENABLED' | 'DISABLED' | 'DESTROYED'>;
  /** As a secret with version_destroy_ttl: a destroyed version is DISABLED and scheduled, not gone. */
  delayDestruction(on: boolean): void;
  /** The checksums clients sent with AddSecretVersion, in order (undefined when none was sent). */
  readonly receivedCrcs: Array<number | undefined>;
}

export async function startFakeGcp(options: FakeGcpOptions = {}): Promise<RunningFakeGcp> {
  const project = options.project ?? FAKE_GCP_PROJECT;
  const store = options.store ?? new VersionedStore();
  const faults = options.faults ?? new FaultInjector();
  let crcMode: CrcMode = options.corruptCrc ? 'corrupt' : 'correct';
  const disabled = new Set<string>();
  const destroyed = new Set<string>();
  /** Versions destroyed while destruction is delayed: DISABLED, with a scheduled destroy time. */
  const scheduled = new Set<string>();
  let delayedDestruction = false;
  const receivedCrcs: Array<number | undefined> = [];

  const secretPattern = /^projects\/([^/]+)\/secrets\/([^/]+)$/;
  const versionPattern = /^(projects\/[^/]+\/secrets\/[^/]+)\/versions\/([^/]+)$/;

  const requireSecret = (name: string): string => {
    if (!secretPattern.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request: ${name}`);
    if (!store.get(name)) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${name}] not found.`);
    return name;
  };

  const resolveVersion = (name: string): { key: string; version: StoredVersion } => {
    const match = versionPattern.exec(name);
    if (!match) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request: ${name}`);
    const key = match[1] ?? '';
    const which = match[2] ?? '';
    const secret = store.get(key);
    if (!secret) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${key}] not found or has no versions.`);
    let version: StoredVersion | undefined;
    if (which === 'latest') version = secret.versions.at(-1);
    else if (/^\d+$/.test(which)) version = secret.versions.find((v) => v.number === Number(which));
    else throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid secret version: ${which}`);
    if (!version) throw new RpcError(grpc.status.NOT_FOUND, `Secret Version [${name}] not found.`);
    return { key, version };
  };

  const versionName = (key: string, version: StoredVersion): string => `${key}/versions/${version.number}`;
  const isDisabled = (key: string, version: StoredVersion): boolean => disabled.has(versionName(key, version));
  const stateOf = (key: string, version: StoredVersion): 'ENABLED' | 'DISABLED' | 'DESTROYED' =>
    destroyed.has(versionName(key, version)) ? 'DESTROYED' : isDisabled(key, version) ? 'DISABLED' : 'ENABLED';

  const versionMessage = (key: string, version: StoredVersion): Record<string, unknown> => ({
    name: versionName(key, version),
    createTime: timestamp(version.createdAt),
    state: stateOf(key, version),
    etag: `"${version.id}"`,
    clientSpecifiedPayloadChecksum: false,
    ...(scheduled.has(versionName(key, version)) ? { scheduledDestroyTime: timestamp(Date.now() + 86_400_000) } : {}),
  });

  const secretMessage = (key: string): Record<string, unknown> => {
    const secret = store.get(key);
    return {
      name: key,
      replication: { automatic: {} },
      createTime: timestamp(secret?.createdAt ?? Date.now()),
      etag: `"${secret?.versions.length ?? 0}"`,
    };
  };

  const handlers: Record<string, (request: unknown) => Promise<unknown>> = {
    AccessSecretVersion: async (request) => {
      const { key, version } = resolveVersion(stringField(request, 'name'));
      const state = stateOf(key, version);
      if (state !== 'ENABLED') {
        throw new RpcError(grpc.status.FAILED_PRECONDITION, `Secret Version [${versionName(key, version)}] is in ${state} state.`);
      }
      const data = toBytes(version.value);
      const crc = unsigned(CRC32C.buf(data));
      const payload: Record<string, unknown> = { data };
      if (crcMode === 'correct') payload.dataCrc32c = String(crc);
      if (crcMode === 'corrupt') payload.dataCrc32c = String((crc ^ 0x5a5a5a5a) >>> 0);
      return { name: versionName(key, version), payload };
    },
    GetSecretVersion: async (request) => {
      const { key, version } = resolveVersion(stringField(request, 'name'));
      return versionMessage(key, version);
    },
    ListSecretVersions: async (request) => {
      const key = requireSecret(stringField(request, 'parent'));
      const states = stateFilter(stringField(request, 'filter'));
      // Newest first, as the service lists them.
      const versions = [...(store.get(key)?.versions ?? [])].reverse().filter((v) => states === undefined || states.has(stateOf(key, v)));
      const pageSize = Number(field(request, 'pageSize') ?? 0) || versions.length;
      const offset = Number(stringField(request, 'pageToken') || 0);
      const page = versions.slice(offset, offset + pageSize);
      const next = offset + pageSize < versions.length ? String(offset + pageSize) : '';
      return { versions: page.map((v) => versionMessage(key, v)), nextPageToken: next, totalSize: versions.length };
    },
    GetSecret: async (request) => secretMessage(requireSecret(stringField(request, 'name'))),
    CreateSecret: async (request) => {
      const parent = stringField(request, 'parent');
      const secretId = stringField(request, 'secretId');
      if (!/^projects\/[^/]+$/.test(parent) || !/^[A-Za-z0-9_-]{1,255}$/.test(secretId)) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Invalid parent or secret_id.');
      }
      if (field(field(request, 'secret'), 'replication') === undefined) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Secret.replication is required.');
      }
      const key = `${parent}/secrets/${secretId}`;
      if (store.get(key)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Secret [${key}] already exists.`);
      await faults.runBeforeWrite();
      store.create(key);
      return secretMessage(key);
    },
    AddSecretVersion: async (request) => {
      const key = requireSecret(stringField(request, 'parent'));
      const payload = field(request, 'payload');
      const data = field(payload, 'data');
      const bytes = data instanceof Uint8Array ? Buffer.from(data) : Buffer.alloc(0);
      const sentCrc = field(payload, 'dataCrc32c');
      const crc = sentCrc === undefined || sentCrc === null ? undefined : Number(sentCrc);
      receivedCrcs.push(crc);
      if (crc !== undefined && crc !== unsigned(CRC32C.buf(bytes))) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Checksum of the payload does not match data_crc32c.');
      }
      await faults.runBeforeWrite();
      // Keep text as text so tests and other tools can compare the store with plain strings.
      let value: string | Uint8Array;
      try {
        value = utf8.decode(bytes);
      } catch {
        value = new Uint8Array(bytes);
      }
      const version = store.addVersion(key, value);
      await faults.runAfterWrite();
      return versionMessage(key, version);
    },
    DisableSecretVersion: async (request) => {
      const { key, version } = resolveVersion(stringField(request, 'name'));
      if (destroyed.has(versionName(key, version))) {
        throw new RpcError(grpc.status.FAILED_PRECONDITION, `Secret Version [${versionName(key, version)}] is in DESTROYED state.`);
      }
      disabled.add(versionName(key, version));
      return versionMessage(key, version);
    },
    DestroySecretVersion: async (request) => {
      const { key, version } = resolveVersion(stringField(request, 'name'));
      const name = versionName(key, version);
      if (destroyed.has(name)) throw new RpcError(grpc.status.FAILED_PRECONDITION, `Secret Version [${name}] is in DESTROYED state.`);
      if (delayedDestruction) {
        disabled.add(name);
        scheduled.add(name);
        return versionMessage(key, version);
      }
      destroyed.add(name);
      disabled.delete(name);
      return versionMessage(key, version);
    },
  };

  let oversizeData: Buffer | undefined;
  /** The answer with its payload replaced by `faults.oversizeBytes` of filler (no checksum: there is no data to sum). */
  const oversize = (answer: unknown): unknown => {
    if (oversizeData?.length !== faults.oversizeBytes) oversizeData = Buffer.alloc(faults.oversizeBytes, 'A');
    return { ...(answer as Record<string, unknown>), payload: { data: oversizeData } };
  };

  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [operation, handle] of Object.entries(handlers)) {
    const method = operation.charAt(0).toLowerCase() + operation.slice(1);
    implementation[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void (async () => {
        const decision = faults.next(operation);
        if (decision.latencyMs > 0) await sleep(decision.latencyMs);
        if (call.cancelled) return;
        if (decision.fault) {
          const { code, details } = FAULT_STATUS[decision.fault.kind];
          callback({ code, details, metadata: new grpc.Metadata() });
          return;
        }
        try {
          const answer = await handle(call.request);
          if (decision.answer === 'truncate' || decision.answer === 'truncate-unframed') return truncateAnswer(call);
          callback(null, decision.answer === 'oversize' ? oversize(answer) : answer);
        } catch (error) {
          if (error instanceof RpcError) callback({ code: error.code, details: error.details, metadata: new grpc.Metadata() });
          else callback({ code: grpc.status.INTERNAL, details: String(error), metadata: new grpc.Metadata() });
        }
      })();
    };
  }

  const server = new grpc.Server();
  server.addService(loadServiceDefinition(), implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  const endpoint = `http://127.0.0.1:${port}`;

  const storeKey = (secretName: string): string => `projects/${project}/secrets/${secretName}`;

  return {
    provider: 'gcp',
    project,
    port,
    endpoint,
    store,
    faults,
    receivedCrcs,
    secretRef: storeKey,
    storeKey,
    setCrcMode(mode) {
      crcMode = mode;
    },
    disableVersion(secretName, versionNumber) {
      disabled.add(`${storeKey(secretName)}/versions/${versionNumber}`);
    },
    delayDestruction(on) {
      delayedDestruction = on;
    },
    versionStates(secretName) {
      const key = storeKey(secretName);
      return (store.get(key)?.versions ?? []).map((v) => stateOf(key, v));
    },
    providerConfig(secretName): ProviderConfig {
      return {
        name: 'gcp',
        secret: storeKey(secretName),
        region: undefined,
        endpoint,
        project,
        vaultUrl: undefined,
        caFile: undefined,
        env: {},
      };
    },
    cliArgs: ['--provider', 'gcp', '--endpoint', endpoint, '--project', project],
    // The provider never asks for credentials with an http:// endpoint; these keep a CLI process safe even
    // if something in it still looked for ADC.
    cliEnv: { METADATA_SERVER_DETECTION: 'none', GOOGLE_CLOUD_PROJECT: project },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // In-flight slow calls would hold tryShutdown open: cut them.
        setTimeout(() => server.forceShutdown(), 100).unref();
      }),
  };
}
