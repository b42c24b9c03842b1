/**
 * The narrow port onto the Kubernetes API server: one JSON request at a time over node:https (node:http for
 * `kubectl proxy` on loopback), with its own keep-alive agent (the cluster CA and client certificate are per
 * client, never process-wide), a bearer token fetched for every call (a token file is read again each time:
 * projected service account tokens rotate), and every answer streamed and cut at MAX_RESPONSE_BYTES.
 *
 * Why not @kubernetes/client-node: see the commit that added this provider (import cost, bundle size, Node
 * support, and its in-cluster token being re-read only once a minute).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { MAX_PAYLOAD_BYTES } from '../../core/credentials.js';
import { ConfigError, InvalidCredentialsError, describeCause } from '../../core/errors.js';
import type { Connection } from './connection.js';
import { runExecPlugin, type ExecCredential, type ExecRunner } from './exec-credential.js';

/**
 * A Secret holds at most 1 MiB of data (etcd's limit) and our payload at most MAX_PAYLOAD_BYTES, base64
 * in the answer; 256 KiB more covers the framing (metadata, managedFields, a Status). Anything larger is
 * not a Secret answer, and is cut off while it streams in instead of being buffered whole.
 */
export const MAX_RESPONSE_BYTES = Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4 + 256 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** An exec credential is used until this long before its expiry. */
const EXEC_EXPIRY_MARGIN_MS = 10_000;

export interface ApiRequest {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** The path after the server URL, already encoded, with any query. */
  readonly path: string;
  readonly body?: unknown;
  readonly signal: AbortSignal | undefined;
}

export interface ApiResponse {
  readonly status: number;
  /** The parsed JSON body; undefined when empty or not JSON. */
  readonly body: unknown;
}

export interface ApiClient {
  request(request: ApiRequest): Promise<ApiResponse>;
  /** Every credential value this client has used, so messages can be scrubbed of them. */
  secrets(): string[];
  close(): void;
}

export interface ClientDeps {
  readonly readTextFile: (path: string) => Promise<string>;
  readonly runExec?: ExecRunner;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => number;
}

/** The answer was larger than any Secret can be. */
export class ResponseTooLargeError extends InvalidCredentialsError {
  override readonly name: string = 'ResponseTooLargeError';
  constructor(readonly bytes: number) {
    super('too-large', `the API server's answer exceeds ${MAX_RESPONSE_BYTES} bytes (${bytes} or more): no Secret is that large; check --endpoint and --secret`);
  }
}

export function createApiClient(connection: Connection, deps: ClientDeps): ApiClient {
  const secure = connection.server.protocol === 'https:';
  const base = connection.server.href.replace(/\/+$/, '');
  const runExec = deps.runExec ?? runExecPlugin;
  const used = new Set<string>();
  let exec: ExecCredential | undefined;
  let agent: { agent: HttpAgent; cert: string | undefined } | undefined;

  function agentFor(certificate: { cert: string; key: string } | undefined): HttpAgent {
    if (agent !== undefined && agent.cert === certificate?.cert) return agent.agent;
    agent?.agent.destroy();
    const created = secure
      ? new HttpsAgent({
          keepAlive: true,
          ...(connection.ca === undefined ? {} : { ca: connection.ca }),
          ...(connection.serverName === undefined ? {} : { servername: connection.serverName }),
          ...(certificate === undefined ? {} : { cert: certificate.cert, key: certificate.key }),
        })
      : new HttpAgent({ keepAlive: true });
    agent = { agent: created, cert: certificate?.cert };
    return created;
  }

  /** The bearer token (if any) and client certificate (if any) for this call. */
  async function credentials(signal: AbortSignal | undefined): Promise<{ token: string | undefined; certificate: { cert: string; key: string } | undefined; fromExec: boolean }> {
    const auth = connection.auth;
    switch (auth.kind) {
      case 'none':
        return { token: undefined, certificate: connection.clientCertificate, fromExec: false };
      case 'token':
        return { token: auth.token, certificate: connection.clientCertificate, fromExec: false };
      case 'token-file': {
        let token: string;
        try {
          token = (await deps.readTextFile(auth.path)).trim();
        } catch (error) {
          throw new ConfigError(`cannot read the token file ${auth.path} (${describeCause(error)}) of ${connection.identity}`, { cause: error });
        }
        if (token === '') throw new ConfigError(`the token file ${auth.path} of ${connection.identity} is empty`);
        return { token, certificate: connection.clientCertificate, fromExec: false };
      }
      case 'exec': {
        if (exec === undefined || (exec.expiresAt !== undefined && deps.now() >= exec.expiresAt - EXEC_EXPIRY_MARGIN_MS)) {
          exec = await runExec(auth.plugin, deps.env, signal);
        }
        return { token: exec.token, certificate: exec.clientCertificate ?? connection.clientCertificate, fromExec: true };
      }
    }
  }

  function send(call: ApiRequest, token: string | undefined, certificate: { cert: string; key: string } | undefined): Promise<ApiResponse> {
    return new Promise<ApiResponse>((resolve, reject) => {
      const text = call.body === undefined ? undefined : JSON.stringify(call.body);
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'claude-creds' };
      if (text !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(text));
      }
      if (token !== undefined) {
        used.add(token);
        headers.authorization = `Bearer ${token}`;
      }
      const options = { method: call.method, headers, agent: agentFor(certificate), ...(call.signal === undefined ? {} : { signal: call.signal }) };
      const req = (secure ? httpsRequest : httpRequest)(`${base}${call.path}`, options, (res: IncomingMessage) => {
        readBounded(res).then((raw) => resolve({ status: res.statusCode ?? 0, body: parseJson(raw) }), reject);
      });
      // Without a caller's deadline, one hung request must still end.
      if (call.signal === undefined) {
        req.setTimeout(DEFAULT_REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      }
      req.on('error', reject);
      req.end(text);
    });
  }

  return {
    async request(call) {
      const first = await credentials(call.signal);
      const response = await send(call, first.token, first.certificate);
      // An exec credential the server no longer accepts (revoked, clock skew): ask the plugin once more.
      if (response.status === 401 && first.fromExec) {
        exec = undefined;
        const again = await credentials(call.signal);
        return send(call, again.token, again.certificate);
      }
      return response;
    },
    secrets: () => [...used],
    close: () => agent?.agent.destroy(),
  };
}

/** The body as text, refused as soon as it (or its declared length) passes MAX_RESPONSE_BYTES. */
function readBounded(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_RESPONSE_BYTES) {
      res.destroy();
      reject(new ResponseTooLargeError(declared));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        res.destroy();
        reject(new ResponseTooLargeError(size));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', reject);
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
