/**
 * The gRPC plumbing of the GCP Secret Manager fake: the service definition from the SDK's own protos,
 * status codes for scripted faults, request field access, and the broken answers grpc-js has no API for.
 */
import { createRequire } from 'node:module';
import type { ServerHttp2Stream } from 'node:http2';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FaultKind } from './faults.js';

const SERVICE = 'google.cloud.secretmanager.v1.SecretManagerService';

export const FAULT_STATUS: Record<FaultKind, { code: grpc.status; details: string }> = {
  throttle: { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Quota exceeded for quota metric Access requests' },
  unavailable: { code: grpc.status.UNAVAILABLE, details: 'The service is currently unavailable.' },
  internal: { code: grpc.status.INTERNAL, details: 'Internal error encountered.' },
  denied: { code: grpc.status.PERMISSION_DENIED, details: 'Permission denied on resource (or it may not exist).' },
  'not-found': { code: grpc.status.NOT_FOUND, details: 'Secret not found or has no versions.' },
  // grpc-js gives a server no handle on the socket; a reset looks like this to the client anyway.
  reset: { code: grpc.status.UNAVAILABLE, details: 'Connection reset by peer' },
};

export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

export const unsigned = (signed: number): number => signed >>> 0;
export const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function loadServiceDefinition(): grpc.ServiceDefinition {
  // Resolve from the SDK's own location so the protos match the client under test.
  const require = createRequire(import.meta.url);
  const sdkRoot = dirname(require.resolve('@google-cloud/secret-manager/package.json'));
  // google-gax's exports hide package.json; its entry is build/src/index.js, protos sit in build/protos.
  const gaxEntry = createRequire(join(sdkRoot, 'package.json')).resolve('google-gax');
  const gaxProtos = join(dirname(gaxEntry), '..', 'protos');
  const definition = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', {
    includeDirs: [join(sdkRoot, 'build', 'protos'), gaxProtos],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const service = definition[SERVICE];
  if (service === undefined || 'format' in service) {
    throw new Error(`${SERVICE} not found in the SDK's protos`);
  }
  return service as grpc.ServiceDefinition;
}

/**
 * Answers a call with a gRPC frame that announces 4 KiB, sends 100 bytes of it, then drops the
 * connection. grpc-js gives a handler no socket, so this reaches the call's HTTP/2 stream through the
 * server call's private links (`call` / `nextCall` / `stream`); only this fake relies on them.
 */
export function truncateAnswer(call: grpc.ServerUnaryCall<unknown, unknown>): void {
  let link: unknown = call;
  for (let depth = 0; depth < 6 && link !== undefined && link !== null; depth += 1) {
    const stream = (link as { stream?: ServerHttp2Stream }).stream;
    if (stream !== undefined && typeof stream.respond === 'function') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': 'identity' });
      const frame = Buffer.alloc(5 + 100, 0);
      frame.writeUInt32BE(4096, 1);
      stream.write(frame, () => setTimeout(() => stream.session?.destroy(), 20));
      return;
    }
    link = (link as { call?: unknown; nextCall?: unknown }).call ?? (link as { nextCall?: unknown }).nextCall;
  }
  throw new Error('the gRPC server call has no reachable HTTP/2 stream (grpc-js internals changed)');
}

/**
 * The part of the list filter language this fake understands: `state:X` terms joined by OR (undefined =
 * no filter). Anything else is refused, so a client sending a filter the fake cannot check notices.
 */
export function stateFilter(filter: string): Set<string> | undefined {
  if (filter.trim() === '') return undefined;
  const states = new Set<string>();
  for (const term of filter.split(/\s+OR\s+/)) {
    const match = /^state:(ENABLED|DISABLED|DESTROYED)$/i.exec(term.trim());
    if (!match?.[1]) throw new RpcError(grpc.status.INVALID_ARGUMENT, `The fake does not understand the filter "${filter}".`);
    states.add(match[1].toUpperCase());
  }
  return states;
}

export function field(request: unknown, key: string): unknown {
  return typeof request === 'object' && request !== null ? (request as Record<string, unknown>)[key] : undefined;
}

export function stringField(request: unknown, key: string): string {
  const value = field(request, key);
  return typeof value === 'string' ? value : '';
}

export function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function toBytes(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}
