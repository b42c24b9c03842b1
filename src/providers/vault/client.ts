/**
 * The port onto Vault's HTTP API: one request, over node:http / node:https with a keep-alive agent of
 * its own (the CA is per client). Every request is counted as it leaves and every answer is read with
 * a bound; an answer cut off on the way is an error, never half a document.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AnswerTruncatedError, MAX_STORE_ANSWER_BYTES, RequestCounter, declaredLength, endsBeforeJsonDoes, readBounded } from '../answer-limit.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface VaultHttpRequest {
  readonly method: 'GET' | 'POST';
  /** The API path after `/v1/`, already encoded. */
  readonly path: string;
  readonly body?: unknown;
  /** Sent as X-Vault-Token; absent for logins. */
  readonly token?: string;
  readonly signal: AbortSignal | undefined;
}

export interface VaultHttpResponse {
  readonly status: number;
  /** The parsed JSON body, or undefined when it was empty or not JSON. */
  readonly body: unknown;
}

/** The narrow port onto Vault's HTTP API. */
export interface VaultHttpPort {
  request(request: VaultHttpRequest): Promise<VaultHttpResponse>;
  /** Requests sent so far, logins included. */
  requestsSent(): number;
  close(): void;
}

export interface VaultClientSettings {
  /** VAULT_ADDR without credentials or trailing slash; may carry a path prefix (a proxy). */
  readonly address: URL;
  readonly namespace: string | undefined;
  /** PEM to trust for https instead of the system roots. */
  readonly ca: string | undefined;
}

/** The real port: node:http / node:https with a keep-alive agent of its own (the CA is per client). */
export function createHttpPort(settings: VaultClientSettings): VaultHttpPort {
  const secure = settings.address.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, ...(settings.ca === undefined ? {} : { ca: settings.ca }) })
    : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const base = settings.address.href.replace(/\/+$/, '');
  const sent = new RequestCounter();

  return {
    request: (call) =>
      new Promise<VaultHttpResponse>((resolve, reject) => {
        const text = call.body === undefined ? undefined : JSON.stringify(call.body);
        const headers: Record<string, string> = { accept: 'application/json' };
        if (text !== undefined) {
          headers['content-type'] = 'application/json';
          headers['content-length'] = String(Buffer.byteLength(text));
        }
        if (call.token !== undefined) headers['x-vault-token'] = call.token;
        if (settings.namespace !== undefined) headers['x-vault-namespace'] = settings.namespace;
        sent.add();
        const req = send(
          `${base}/v1/${call.path}`,
          { method: call.method, headers, agent, ...(call.signal === undefined ? {} : { signal: call.signal }) },
          (res: IncomingMessage) => {
            const declared = declaredLength(res.headers['content-length']);
            readBounded(res, MAX_STORE_ANSWER_BYTES, declared).then((bytes) => {
              const raw = bytes.toString('utf8');
              // Vault always frames its answers; one that stops inside its JSON without a length was cut off.
              if (declared === undefined && raw.trim() !== '' && endsBeforeJsonDoes(raw)) {
                reject(new AnswerTruncatedError(`the answer ended after ${bytes.length} bytes, in the middle of its JSON`));
                return;
              }
              let body: unknown;
              try {
                body = raw.trim() === '' ? undefined : JSON.parse(raw);
              } catch {
                body = undefined;
              }
              resolve({ status: res.statusCode ?? 0, body });
            }, reject);
          },
        );
        // Without a caller's deadline, one hung request must still end.
        if (call.signal === undefined) {
          req.setTimeout(DEFAULT_REQUEST_TIMEOUT_MS, () => {
            req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' }));
          });
        }
        req.on('error', reject);
        req.end(text);
      }),
    requestsSent: () => sent.value,
    close: () => agent.destroy(),
  };
}
