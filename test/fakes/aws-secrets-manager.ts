/**
 * A wire-level fake of AWS Secrets Manager on 127.0.0.1: AWS JSON 1.1 over HTTP, as the real
 * `@aws-sdk/client-secrets-manager` sends it (every call `POST /` with `x-amz-target:
 * secretsmanager.<Op>` and a SigV4 `authorization` header). Versions live in a VersionedStore; the
 * ClientRequestToken becomes the VersionId, as in AWS, so idempotent repeats and staging-label moves
 * behave like the service.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderConfig } from '../../src/core/provider.js';
import { FaultInjector, sleep, type FaultKind } from './faults.js';
import type { RunningFake } from './running-fake.js';
import { VersionedStore, type StoredSecret, type StoredVersion } from './versioned-store.js';
import { header, readBody, sendTruncated, streamOversizeAnswer } from './http-util.js';

export const FAKE_AWS_ACCOUNT = '000000000000';

/**
 * Static, obviously fake credentials for the SDK's default chain. The config/credentials files point
 * nowhere so a developer's ~/.aws never leaks into a test, and IMDS is off so nothing probes 169.254.169.254.
 */
export const FAKE_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
  AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key-for-tests-only',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/claude-creds-fake-aws/config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/claude-creds-fake-aws/credentials',
};

export type AwsOperation =
  | 'GetSecretValue'
  | 'DescribeSecret'
  | 'PutSecretValue'
  | 'UpdateSecretVersionStage'
  | 'CreateSecret';

const OPERATIONS: ReadonlySet<string> = new Set<AwsOperation>([
  'GetSecretValue',
  'DescribeSecret',
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'CreateSecret',
]);

export interface FakeAwsOptions {
  /** The region in ARNs; default us-east-1. */
  readonly region?: string;
  /** Operations answered with AccessDeniedException every time (until removed from `denied`). */
  readonly denyOperations?: Iterable<AwsOperation>;
  /** When set, any other access key id is refused with UnrecognizedClientException. */
  readonly accessKeyId?: string;
  readonly store?: VersionedStore;
  readonly faults?: FaultInjector;
}

/** What the fake saw of each signed request: enough to prove which credentials and region were used. */
export interface SeenRequest {
  readonly operation: string;
  readonly accessKeyId: string;
  /** The region of the SigV4 credential scope. */
  readonly signingRegion: string;
}

export interface RunningFakeAws extends RunningFake {
  readonly url: string;
  readonly region: string;
  /** The full ARN of `secretName` (with AWS's 6-character suffix). */
  arn(secretName: string): string;
  readonly denied: Set<string>;
  readonly requests: readonly SeenRequest[];
}

class AwsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

export async function startFakeAws(options: FakeAwsOptions = {}): Promise<RunningFakeAws> {
  const region = options.region ?? 'us-east-1';
  const store = options.store ?? new VersionedStore();
  const faults = options.faults ?? new FaultInjector();
  const denied = new Set<string>(options.denyOperations ?? []);
  const requests: SeenRequest[] = [];

  const arn = (name: string): string => {
    // AWS appends six random characters; a hash keeps them stable per name so tests can predict them.
    const suffix = createHash('sha256').update(name).digest('base64').replace(/[^A-Za-z]/g, '').slice(0, 6);
    return `arn:aws:secretsmanager:${region}:${FAKE_AWS_ACCOUNT}:secret:${name}-${suffix}`;
  };

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, new AwsFault('InternalServiceError', String(error), 500));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const target = header(request, 'x-amz-target');
    const operation = target?.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';

    const auth = header(request, 'authorization');
    if (auth === undefined) {
      return sendError(response, new AwsFault('MissingAuthenticationTokenException', 'Missing Authentication Token'));
    }
    const credential = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
    if (!auth.startsWith('AWS4-HMAC-SHA256 ') || !credential) {
      return sendError(
        response,
        new AwsFault('IncompleteSignatureException', 'Authorization header requires a SigV4 Credential parameter.'),
      );
    }
    const [, accessKeyId = '', signingRegion = '', service = ''] = credential;
    requests.push({ operation, accessKeyId, signingRegion });
    if (service !== 'secretsmanager') {
      return sendError(response, new AwsFault('InvalidSignatureException', `Credential should be scoped to correct service: 'secretsmanager'.`));
    }
    if (options.accessKeyId !== undefined && accessKeyId !== options.accessKeyId) {
      return sendError(
        response,
        new AwsFault('UnrecognizedClientException', 'The security token included in the request is invalid.'),
      );
    }
    if (request.method !== 'POST' || !OPERATIONS.has(operation)) {
      return sendError(response, new AwsFault('UnknownOperationException', ''));
    }
    if (!(header(request, 'content-type') ?? '').startsWith('application/x-amz-json-1.1')) {
      return sendError(response, new AwsFault('SerializationException', 'Unexpected content type'));
    }

    const decision = faults.next(operation);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.fault) {
      if (decision.fault.kind === 'reset') {
        request.socket.destroy();
        return;
      }
      return sendError(response, faultError(decision.fault.kind, operation, resourceOf(body)));
    }
    if (denied.has(operation)) return sendError(response, faultError('denied', operation, resourceOf(body)));

    try {
      const input = parse(body);
      const answer = await dispatch(operation as AwsOperation, input);
      if (decision.answer === 'oversize') return await sendOversize(response, answer, faults);
      if (decision.answer === 'truncate' || decision.answer === 'truncate-unframed') return sendTruncated(response, 200, jsonHeaders(), JSON.stringify(answer), decision.answer === 'truncate');
      send(response, 200, answer);
    } catch (error) {
      if (error instanceof AwsFault) return sendError(response, error);
      throw error;
    }
  }

  function resourceOf(body: string): string {
    try {
      const id = parse(body).SecretId ?? parse(body).Name;
      if (typeof id === 'string') return id.startsWith('arn:') ? id : arn(id);
    } catch {
      // an unparsable body still gets the fault it was scripted to get
    }
    return '*';
  }

  function resolve(secretId: unknown): StoredSecret {
    if (typeof secretId !== 'string' || secretId === '') {
      throw new AwsFault('InvalidParameterException', 'You must provide a value for the SecretId parameter.');
    }
    let name = secretId;
    if (secretId.startsWith('arn:')) {
      // A full ARN must match exactly; a partial ARN (without the suffix) names the secret too.
      const match = store.names().find((candidate) => arn(candidate) === secretId || arn(candidate).slice(0, -7) === secretId);
      name = match ?? '';
    }
    const secret = store.get(name);
    if (!secret) throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  async function dispatch(operation: AwsOperation, input: Json): Promise<Json> {
    switch (operation) {
      case 'GetSecretValue':
        return getSecretValue(input);
      case 'DescribeSecret':
        return describeSecret(input);
      case 'PutSecretValue':
        return putSecretValue(input);
      case 'UpdateSecretVersionStage':
        return updateSecretVersionStage(input);
      case 'CreateSecret':
        return createSecret(input);
    }
  }

  function getSecretValue(input: Json): Json {
    const secret = resolve(input.SecretId);
    const versionId = optionalString(input.VersionId, 'VersionId');
    const stage = optionalString(input.VersionStage, 'VersionStage') ?? (versionId === undefined ? 'AWSCURRENT' : undefined);
    const version = secret.versions.find(
      (v) => (versionId === undefined || v.id === versionId) && (stage === undefined || v.stages.has(stage)),
    );
    if (!version) {
      throw new AwsFault(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for ${versionId !== undefined ? `VersionId: ${versionId}` : `staging label: ${stage}`}`,
      );
    }
    return {
      ARN: arn(secret.name),
      Name: secret.name,
      VersionId: version.id,
      VersionStages: [...version.stages],
      CreatedDate: version.createdAt / 1000,
      ...valueField(version.value),
    };
  }

  function describeSecret(input: Json): Json {
    const secret = resolve(input.SecretId);
    const stages: Record<string, string[]> = {};
    // Unlabelled versions are deprecated and AWS leaves them out.
    for (const version of secret.versions) if (version.stages.size > 0) stages[version.id] = [...version.stages];
    const lastChanged = secret.versions.at(-1)?.createdAt ?? secret.createdAt;
    return {
      ARN: arn(secret.name),
      Name: secret.name,
      VersionIdsToStages: stages,
      CreatedDate: secret.createdAt / 1000,
      LastChangedDate: lastChanged / 1000,
    };
  }

  async function putSecretValue(input: Json): Promise<Json> {
    const secret = resolve(input.SecretId);
    const token = requestToken(input.ClientRequestToken);
    const value = requestValue(input, true);
    const stages = optionalStages(input.VersionStages) ?? ['AWSCURRENT'];
    await faults.runBeforeWrite();
    const existing = secret.versions.find((v) => v.id === token);
    if (existing) return idempotentRepeat(secret, existing, value);
    const version = store.addVersion(secret.name, value as string | Uint8Array, { id: token, stages, requestToken: token });
    return { ARN: arn(secret.name), Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  }

  async function updateSecretVersionStage(input: Json): Promise<Json> {
    const secret = resolve(input.SecretId);
    const stage = optionalString(input.VersionStage, 'VersionStage');
    if (stage === undefined) throw new AwsFault('InvalidParameterException', 'You must provide a value for VersionStage.');
    const moveTo = optionalString(input.MoveToVersionId, 'MoveToVersionId');
    const removeFrom = optionalString(input.RemoveFromVersionId, 'RemoveFromVersionId');
    if (moveTo === undefined && removeFrom === undefined) {
      throw new AwsFault('InvalidParameterException', 'You must provide MoveToVersionId or RemoveFromVersionId.');
    }
    // Every state check runs after the hook: AWS applies them atomically with the move, so a concurrent
    // writer that moved the label first must make this call fail.
    await faults.runBeforeWrite();
    for (const id of [moveTo, removeFrom]) {
      if (id !== undefined && !secret.versions.some((v) => v.id === id)) {
        throw new AwsFault('ResourceNotFoundException', `Secrets Manager can't find the specified secret version: ${id}`);
      }
    }
    const holder = secret.versions.find((v) => v.stages.has(stage));
    if (removeFrom !== undefined && holder?.id !== removeFrom) {
      throw new AwsFault(
        'InvalidParameterException',
        `When you move staging label ${stage}, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label ${stage}.`,
      );
    }
    if (moveTo === undefined && stage === 'AWSCURRENT') {
      throw new AwsFault('InvalidParameterException', 'You can only remove AWSCURRENT by moving it to another version.');
    }
    if (moveTo !== undefined && holder !== undefined && holder.id !== moveTo && removeFrom === undefined) {
      throw new AwsFault(
        'InvalidParameterException',
        `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    if (moveTo !== undefined) store.moveStage(secret.name, stage, moveTo);
    else if (removeFrom !== undefined) store.removeStage(secret.name, stage, removeFrom);
    return { ARN: arn(secret.name), Name: secret.name };
  }

  async function createSecret(input: Json): Promise<Json> {
    const name = optionalString(input.Name, 'Name');
    if (name === undefined || name === '') throw new AwsFault('InvalidParameterException', 'You must provide a value for Name.');
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
      throw new AwsFault('ValidationException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    }
    const token = requestToken(input.ClientRequestToken);
    const value = requestValue(input, false);
    await faults.runBeforeWrite();
    const existing = store.get(name);
    if (existing) {
      // A repeat of the same create (same token, same value) is answered as the first one was.
      const version = existing.versions.find((v) => v.id === token);
      if (version && value !== undefined) return idempotentRepeat(existing, version, value);
      throw new AwsFault('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    store.create(name);
    const version = value === undefined ? undefined : store.addVersion(name, value, { id: token, requestToken: token });
    return { ARN: arn(name), Name: name, ...(version ? { VersionId: version.id } : {}) };
  }

  function idempotentRepeat(secret: StoredSecret, version: StoredVersion, value: string | Uint8Array | undefined): Json {
    if (value === undefined || !sameValue(version.value, value)) {
      throw new AwsFault(
        'ResourceExistsException',
        `You can't modify an existing version, you can only create a new version.`,
      );
    }
    return { ARN: arn(secret.name), Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    provider: 'aws',
    store,
    faults,
    url,
    region,
    denied,
    requests,
    arn,
    secretRef: (secretName) => secretName,
    storeKey: (secretName) => secretName,
    providerConfig: (secretName): ProviderConfig => ({
      name: 'aws',
      secret: secretName,
      region,
      endpoint: url,
      project: undefined,
      vaultUrl: undefined,
      caFile: undefined,
      env: { ...FAKE_AWS_ENV },
    }),
    cliArgs: ['--provider', 'aws', '--endpoint', url, '--region', region],
    cliEnv: { ...FAKE_AWS_ENV },
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

function faultError(kind: Exclude<FaultKind, 'reset'>, operation: string, resource: string): AwsFault {
  switch (kind) {
    case 'throttle':
      return new AwsFault('ThrottlingException', 'Rate exceeded');
    case 'unavailable':
      return new AwsFault('ServiceUnavailableException', 'Service is unavailable. Please try again later.', 503);
    case 'internal':
      return new AwsFault('InternalServiceError', 'An error occurred on the server side.', 500);
    case 'not-found':
      return new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    case 'denied':
      return new AwsFault(
        'AccessDeniedException',
        `User: arn:aws:iam::${FAKE_AWS_ACCOUNT}:user/fake is not authorized to perform: secretsmanager:${operation} on resource: ${resource} because no identity-based policy allows the secretsmanager:${operation} action`,
      );
  }
}

function sendError(response: ServerResponse, fault: AwsFault): void {
  // The SDK reads the code from `__type` first and `x-amzn-errortype` after; real AWS sends both.
  send(response, fault.status, { __type: fault.type, message: fault.message }, { 'x-amzn-errortype': `${fault.type}:` });
}

function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() };
}

function send(response: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...jsonHeaders(), 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** The answer with its value replaced by `bytes` of filler, streamed (SecretString last, so it can be). */
function sendOversize(response: ServerResponse, answer: Json, faults: FaultInjector): Promise<void> {
  const { SecretString: _text, SecretBinary: _binary, ...rest } = answer;
  const head = JSON.stringify(rest).slice(0, -1);
  const prefix = `${head}${head === '{' ? '' : ','}"SecretString":"`;
  return streamOversizeAnswer(response, 200, jsonHeaders(), { prefix, fillBytes: faults.oversizeBytes, suffix: '"}' }, (sent) =>
    faults.oversizeSent.push(sent),
  );
}


function parse(body: string): Json {
  if (body === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new AwsFault('SerializationException', 'Start of structure or map found where not expected.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AwsFault('SerializationException', 'Expected a JSON object.');
  }
  return value as Json;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsFault('SerializationException', `${field} must be a string`);
  return value;
}

function optionalStages(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new AwsFault('SerializationException', 'VersionStages must be a list of strings');
  }
  return value.length === 0 ? undefined : value;
}

function requestToken(value: unknown): string {
  const token = optionalString(value, 'ClientRequestToken');
  if (token === undefined || token.length < 32 || token.length > 64) {
    throw new AwsFault(
      'ValidationException',
      "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64",
    );
  }
  return token;
}

function requestValue(input: Json, required: true): string | Uint8Array;
function requestValue(input: Json, required: false): string | Uint8Array | undefined;
function requestValue(input: Json, required: boolean): string | Uint8Array | undefined {
  const text = optionalString(input.SecretString, 'SecretString');
  const binary = optionalString(input.SecretBinary, 'SecretBinary');
  if (text !== undefined && binary !== undefined) {
    throw new AwsFault('InvalidParameterException', 'You can provide SecretString or SecretBinary, but not both.');
  }
  if (binary !== undefined) return new Uint8Array(Buffer.from(binary, 'base64'));
  if (text === undefined && required) {
    throw new AwsFault('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
  }
  return text;
}

function valueField(value: string | Uint8Array): Json {
  return typeof value === 'string' ? { SecretString: value } : { SecretBinary: Buffer.from(value).toString('base64') };
}

function sameValue(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}
