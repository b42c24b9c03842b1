/**
 * A fake Azure Key Vault (secrets REST API, as @azure/keyvault-secrets sends it) plus the few Entra ID
 * endpoints MSAL calls for a client-credentials token, on one HTTPS server on 127.0.0.1 with a
 * certificate made at start-up. Nothing is trusted process-wide: clients get the CA through `caFile`
 * (the provider's --ca-file) or NODE_EXTRA_CA_CERTS in a child process (`cliEnv`).
 *
 * The vault URL is `https://myvault.vault.localhost:PORT` (the loopback guard resolves `.localhost` to
 * 127.0.0.1) and its 401 challenge names the resource `https://vault.localhost`, so the SDK's
 * challenge-resource check stays on. `ipVaultUrl` (`https://127.0.0.1:PORT`) answers with the real
 * resource `https://vault.azure.net`, which that check must refuse.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderConfig } from '../../src/core/provider.js';
import { FaultInjector, sleep, type AnswerFault } from './faults.js';
import { sendTruncated, streamOversizeAnswer } from './http-util.js';
import type { FaultKind } from './faults.js';
import type { RunningFake } from './running-fake.js';
import { VersionedStore } from './versioned-store.js';
import { loopbackCertificate } from './loopback-certificate.js';

export interface FakeAzureOptions {
  readonly faults?: FaultInjector;
  readonly store?: VersionedStore;
  /** First DNS label of the vault host. */
  readonly vaultName?: string;
  readonly tenantId?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
}

/** One request the fake answered, for tests that check the challenge flow. */
export interface SeenRequest {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly host: string;
  /** The bearer token sent, if any. */
  readonly bearer: string | undefined;
  readonly status: number;
}

export interface TokenRequest {
  readonly tenant: string;
  readonly clientId: string | undefined;
  readonly grantType: string | undefined;
  readonly scope: string | undefined;
  /** How the client proved itself: a service principal secret or a Workload Identity assertion. */
  readonly proof: 'client_secret' | 'client_assertion' | 'none';
  /** The access token issued, or undefined when refused. */
  readonly issued: string | undefined;
}

export interface RunningFakeAzure extends RunningFake {
  readonly port: number;
  /** `https://<vaultName>.vault.localhost:PORT`: challenge resource `https://vault.localhost`. */
  readonly vaultUrl: string;
  /** `https://127.0.0.1:PORT`: challenge resource `https://vault.azure.net` (refused by the SDK's check). */
  readonly ipVaultUrl: string;
  /** AZURE_AUTHORITY_HOST for MSAL: the same server serves the Entra ID endpoints. */
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The Kubernetes service-account token the token endpoint accepts as a client assertion (Workload Identity). */
  readonly federatedToken: string;
  /** PEM of the self-signed certificate, and a temp file holding it (removed on close). */
  readonly caPem: string;
  readonly caFile: string;
  readonly requests: readonly SeenRequest[];
  readonly tokenRequests: readonly TokenRequest[];
  /** Content type stored with each version id. */
  readonly contentTypes: ReadonlyMap<string, string | undefined>;
  /** Bearer tokens the vault answers with 401 (an identity from the wrong tenant, a revoked token). */
  readonly rejectedTokens: Set<string>;
  /**
   * Run `hook` once, right after the next write is applied and before it is answered: another writer
   * landing between our write and our check of the latest version.
   */
  afterNextWrite(hook: () => void | Promise<void>): void;
}

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

export async function startFakeAzure(options: FakeAzureOptions = {}): Promise<RunningFakeAzure> {
  const faults = options.faults ?? new FaultInjector();
  const store = options.store ?? new VersionedStore();
  const vaultName = options.vaultName ?? 'myvault';
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-00000000fa4e';
  const clientId = options.clientId ?? '00000000-0000-4000-8000-0000000c11e7';
  const clientSecret = options.clientSecret ?? `fake-client-secret-${randomBytes(8).toString('hex')}`;
  const federatedToken = `fake-federated-sa-token-${randomBytes(8).toString('hex')}`;
  const requests: SeenRequest[] = [];
  const tokenRequests: TokenRequest[] = [];
  const rejectedTokens = new Set<string>();
  const afterWriteHooks: Array<() => void | Promise<void>> = [];
  const contentTypes = new Map<string, string | undefined>();

  const certificate = await loopbackCertificate('Azure Key Vault', ['*.vault.localhost']);
  const { dir, caFile } = certificate;
  const pems = { private: certificate.key, cert: certificate.cert };

  let port = 0;
  const authorityBase = () => `https://127.0.0.1:${port}`;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      'x-ms-keyvault-service-version': '1.9.0.0',
      ...headers,
    });
    res.end(text);
    return status;
  };
  /** A success, or the broken one `answer` asks for: the value (or a padding field) made huge, or the body cut off. */
  const answerWith = async (res: ServerResponse, body: Record<string, unknown>, answer: AnswerFault | undefined): Promise<number> => {
    if (answer === undefined) return send(res, 200, body);
    const headers = { 'content-type': 'application/json; charset=utf-8', 'x-ms-keyvault-service-version': '1.9.0.0' };
    if (answer === 'truncate' || answer === 'truncate-unframed') {
      sendTruncated(res, 200, headers, JSON.stringify(body), answer === 'truncate');
      return 200;
    }
    const { value: _value, ...rest } = body;
    const key = typeof body.value === 'string' ? 'value' : 'padding';
    const tail = JSON.stringify(rest);
    await streamOversizeAnswer(res, 200, headers, {
      prefix: `{"${key}":"`,
      fillBytes: faults.oversizeBytes,
      suffix: tail === '{}' ? '"}' : `",${tail.slice(1)}`,
    }, (sent) => faults.oversizeSent.push(sent));
    return 200;
  };
  const kvError = (res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>) =>
    send(res, status, { error: { code, message } }, headers);

  /** Answers a planned fault in Key Vault's own shapes; false when the connection was dropped. */
  const sendFault = (res: ServerResponse, kind: FaultKind, operation: string, secretName: string): number => {
    switch (kind) {
      case 'throttle':
        return kvError(res, 429, 'Throttled', 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached', {
          'retry-after': '1',
        });
      case 'unavailable':
        return kvError(res, 503, 'ServiceUnavailable', 'The service is temporarily unavailable.');
      case 'internal':
        return kvError(res, 500, 'InternalServerError', 'An internal server error occurred.');
      case 'denied': {
        const permission = operation === 'setSecret' ? 'set' : operation === 'getSecretVersions' ? 'list' : 'get';
        return kvError(
          res,
          403,
          'Forbidden',
          `The user, group or application 'appid=${clientId};oid=00000000-0000-4000-8000-0000000000d1;iss=https://sts.windows.net/${tenantId}/' does not have secrets ${permission} permission on key vault '${vaultName};location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        );
      }
      case 'not-found':
        return kvError(res, 404, 'SecretNotFound', `A secret with (name/id) ${secretName} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
      case 'reset':
        res.socket?.destroy();
        return 0;
    }
  };

  const bundle = (host: string, name: string, versionId: string, value: string | Uint8Array | undefined, createdAt: number) => ({
    ...(value === undefined ? {} : { value: typeof value === 'string' ? value : Buffer.from(value).toString('utf8') }),
    id: `https://${host}/secrets/${name}/${versionId}`,
    ...(contentTypes.get(versionId) === undefined ? {} : { contentType: contentTypes.get(versionId) }),
    attributes: {
      enabled: true,
      created: Math.floor(createdAt / 1000),
      updated: Math.floor(createdAt / 1000),
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
    tags: {},
  });

  const handleEntra = async (req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<string | undefined> => {
    const [tenant, ...rest] = segments;
    const tail = rest.join('/');
    if (tenant === undefined) return undefined;
    if (req.method === 'GET' && (tail === 'v2.0/.well-known/openid-configuration' || tail === '.well-known/openid-configuration')) {
      faults.next('openidConfiguration');
      const base = `${authorityBase()}/${tenant}`;
      send(res, 200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        issuer: `${base}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        tenant_region_scope: 'EU',
      });
      return 'openidConfiguration';
    }
    if (req.method === 'POST' && tail === 'oauth2/v2.0/token') {
      const decision = faults.next('token');
      if (decision.latencyMs > 0) await sleep(decision.latencyMs);
      const form = new URLSearchParams(await readBody(req));
      const request = {
        tenant,
        clientId: form.get('client_id') ?? undefined,
        grantType: form.get('grant_type') ?? undefined,
        scope: form.get('scope') ?? undefined,
        proof: form.has('client_assertion') ? 'client_assertion' : form.has('client_secret') ? 'client_secret' : 'none',
      } as const;
      if (decision.fault) {
        tokenRequests.push({ ...request, issued: undefined });
        if (decision.fault.kind === 'reset') {
          res.socket?.destroy();
          return 'token';
        }
        const status = decision.fault.kind === 'throttle' ? 429 : decision.fault.kind === 'denied' ? 401 : 503;
        send(res, status, { error: status === 401 ? 'invalid_client' : 'temporarily_unavailable', error_description: 'AADSTS90000: fake fault.' });
        return 'token';
      }
      // A service principal sends its secret; Workload Identity sends the projected service-account token.
      const proof = form.get('client_assertion') ?? form.get('client_secret');
      const expectedProof = form.has('client_assertion') ? federatedToken : clientSecret;
      if (tenant !== tenantId || request.clientId !== clientId || proof !== expectedProof) {
        tokenRequests.push({ ...request, issued: undefined });
        send(res, 401, {
          error: 'invalid_client',
          error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${request.clientId ?? ''}'.`,
          error_codes: [7000215],
        });
        return 'token';
      }
      const token = `fake-entra-token-${randomBytes(16).toString('hex')}`;
      tokenRequests.push({ ...request, issued: token });
      send(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
      return 'token';
    }
    return undefined;
  };

  const handleVault = async (req: IncomingMessage, res: ServerResponse, url: URL, segments: string[]): Promise<{ op: string; status: number } | undefined> => {
    if (segments[0] !== 'secrets') return undefined;
    const [, name = '', third, ...rest] = segments;
    let op: string;
    if (req.method === 'PUT' && third === undefined) op = 'setSecret';
    else if (req.method === 'GET' && third === 'versions' && rest.length === 0) op = 'getSecretVersions';
    else if (req.method === 'GET' && rest.length === 0) op = 'getSecret';
    else return undefined;

    const host = req.headers.host ?? `127.0.0.1:${port}`;
    const authorization = req.headers.authorization;
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined;
    if (bearer === undefined || bearer === '') {
      // Key Vault answers every unauthenticated call with a challenge naming the tenant and resource.
      const decision = faults.next('challenge');
      if (decision.latencyMs > 0) await sleep(decision.latencyMs);
      if (decision.fault) return { op: 'challenge', status: sendFault(res, decision.fault.kind, op, name) };
      await drain(req);
      return {
        op: 'challenge',
        status: kvError(res, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${challengeResource(host)}"`,
        }),
      };
    }

    if (rejectedTokens.has(bearer)) {
      faults.next('challenge');
      await drain(req);
      return {
        op: 'challenge',
        status: kvError(res, 401, 'Unauthorized', 'AKV10022: Invalid audience.', {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${challengeResource(host)}"`,
        }),
      };
    }

    const decision = faults.next(op);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.fault) return { op, status: sendFault(res, decision.fault.kind, op, name) };
    if (!url.searchParams.get('api-version')) {
      return { op, status: kvError(res, 400, 'BadParameter', 'The api-version query parameter is required.') };
    }
    if (!SECRET_NAME.test(name)) {
      return { op, status: kvError(res, 400, 'BadParameter', 'The request URI contains an invalid name.') };
    }

    if (op === 'getSecret') {
      const versionId = third === undefined || third === '' ? undefined : third;
      const secret = store.get(name);
      const version = versionId === undefined ? store.latest(name) : secret?.versions.find((v) => v.id === versionId);
      if (!version) {
        const what = versionId === undefined ? name : `${name}/${versionId}`;
        return sendNotFound(res, op, what);
      }
      return { op, status: await answerWith(res, bundle(host, name, version.id, version.value, version.createdAt), decision.answer) };
    }
    if (op === 'getSecretVersions') {
      const secret = store.get(name);
      if (!secret) return sendNotFound(res, op, name);
      // Key Vault lists versions 25 to a page, ordered by version id (random), not by time.
      const all = [...secret.versions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const skip = Number(url.searchParams.get('$skiptoken') ?? 0);
      const pageSize = Math.min(25, Number(url.searchParams.get('maxresults') ?? 25) || 25);
      const value = all.slice(skip, skip + pageSize).map((v) => {
        const { value: _value, ...item } = bundle(host, name, v.id, undefined, v.createdAt);
        return item;
      });
      const nextLink =
        skip + pageSize < all.length ? `https://${host}/secrets/${name}/versions?api-version=${url.searchParams.get('api-version') ?? ''}&$skiptoken=${skip + pageSize}&maxresults=${pageSize}` : null;
      return { op, status: await answerWith(res, { value, nextLink }, decision.answer) };
    }

    // setSecret
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return { op, status: kvError(res, 400, 'BadParameter', 'The request body is not valid JSON.') };
    }
    const value = (body as { value?: unknown }).value;
    const contentType = (body as { contentType?: unknown }).contentType;
    if (typeof value !== 'string') {
      return { op, status: kvError(res, 400, 'BadParameter', 'Property value is required.') };
    }
    await faults.runBeforeWrite();
    const version = store.addVersion(name, value, { id: randomUUID().replace(/-/g, '') });
    contentTypes.set(version.id, typeof contentType === 'string' ? contentType : undefined);
    const after = afterWriteHooks.shift();
    if (after) await after();
    await faults.runAfterWrite();
    // Key Vault echoes the value on set.
    return { op, status: await answerWith(res, bundle(host, name, version.id, value, version.createdAt), decision.answer) };
  };

  const sendNotFound = (res: ServerResponse, op: string, what: string) => ({
    op,
    status: kvError(
      res,
      404,
      'SecretNotFound',
      `A secret with (name/id) ${what} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    ),
  });

  const server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://fake.invalid');
    const segments = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
    void (async () => {
      const vault = await handleVault(req, res, url, segments);
      if (vault) {
        const authorization = req.headers.authorization;
        requests.push({
          operation: vault.op,
          method: req.method ?? '',
          path: url.pathname,
          host: req.headers.host ?? '',
          bearer: authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined,
          status: vault.status,
        });
        return;
      }
      const entra = await handleEntra(req, res, segments);
      if (entra) {
        requests.push({ operation: entra, method: req.method ?? '', path: url.pathname, host: req.headers.host ?? '', bearer: undefined, status: res.statusCode });
        return;
      }
      faults.next('unknown');
      kvError(res, 404, 'NotFound', `no route for ${req.method ?? ''} ${url.pathname}`);
    })().catch((error: unknown) => {
      if (!res.headersSent) kvError(res, 500, 'InternalServerError', String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  const vaultUrl = `https://${vaultName}.vault.localhost:${port}`;
  const cliEnv: Record<string, string> = {
    AZURE_AUTHORITY_HOST: authorityBase(),
    AZURE_TENANT_ID: tenantId,
    AZURE_CLIENT_ID: clientId,
    AZURE_CLIENT_SECRET: clientSecret,
    // Only the service-principal credential: nothing in the chain may probe IMDS or run `az`.
    AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential',
    // MSAL would ask login.microsoftonline.com to vet a custom authority host.
    CLAUDE_CREDS_AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
    // The credential's calls to the fake authority cannot use --ca-file (that is the vault client's).
    NODE_EXTRA_CA_CERTS: caFile,
  };

  return {
    provider: 'azure',
    store,
    faults,
    port,
    vaultUrl,
    ipVaultUrl: `https://127.0.0.1:${port}`,
    authorityHost: authorityBase(),
    tenantId,
    clientId,
    clientSecret,
    federatedToken,
    caPem: pems.cert,
    caFile,
    requests,
    tokenRequests,
    contentTypes,
    rejectedTokens,
    afterNextWrite: (hook) => {
      afterWriteHooks.push(hook);
    },
    secretRef: (secretName) => `${vaultUrl}/secrets/${secretName}`,
    storeKey: (secretName) => secretName,
    providerConfig: (secretName): ProviderConfig => ({
      name: 'azure',
      secret: secretName,
      region: undefined,
      endpoint: undefined,
      project: undefined,
      vaultUrl,
      caFile,
      env: {},
    }),
    cliArgs: ['--provider', 'azure', '--vault-url', vaultUrl, '--ca-file', caFile],
    cliEnv,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function hostName(host: string): string {
  return host.replace(/:\d+$/, '').toLowerCase();
}

/** The resource a vault host's challenge names: its own domain for `.vault.localhost`, Azure's otherwise. */
function challengeResource(host: string): string {
  return hostName(host).endsWith('.vault.localhost') ? 'https://vault.localhost' : 'https://vault.azure.net';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req) {
    // discard: the challenge answer does not depend on the body
  }
}
