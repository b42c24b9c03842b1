/**
 * AWS Secrets Manager. Reads the AWSCURRENT version; writes by compare-and-swap on the AWSCURRENT
 * staging label, since AWS has no conditional put:
 *
 *   1. DescribeSecret: AWSCURRENT must still be `expectedVersion`, else ConflictError at once.
 *   2. PutSecretValue labelled AWSPENDING only, so nothing reads it yet. Its ClientRequestToken (which
 *      AWS makes the VersionId) is derived from the expected version and the payload, so a retry of the
 *      same decision reuses the same version instead of adding another.
 *   3. UpdateSecretVersionStage moves AWSCURRENT to it with RemoveFromVersionId = expectedVersion; AWS
 *      refuses that atomically when another writer moved AWSCURRENT in the meantime -> ConflictError.
 *   4. Clear AWSPENDING from the new version.
 *
 * The SDK is loaded only when this provider is created and sits behind `SecretsManagerPort`.
 */
import { createHash } from 'node:crypto';
import {
  ConfigError,
  ConflictError,
  DependencyError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
  type ClaudeCredsError,
} from '../../core/errors.js';
import type { CallOptions, Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';
import { callSignal } from '../call-signal.js';

export const AWS_SDK_PACKAGE = '@aws-sdk/client-secrets-manager';

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';

/** The part of the SDK module this provider uses. */
export type AwsSdk = Pick<
  typeof import('@aws-sdk/client-secrets-manager'),
  | 'SecretsManagerClient'
  | 'GetSecretValueCommand'
  | 'DescribeSecretCommand'
  | 'PutSecretValueCommand'
  | 'UpdateSecretVersionStageCommand'
  | 'CreateSecretCommand'
>;

export interface PortCall {
  readonly signal: AbortSignal | undefined;
}

/** The narrow port onto Secrets Manager: just the calls the provider makes. */
export interface SecretsManagerPort {
  getSecretValue(
    input: { SecretId: string; VersionStage: string },
    call: PortCall,
  ): Promise<{ SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined; VersionId?: string | undefined }>;
  describeSecret(
    input: { SecretId: string },
    call: PortCall,
  ): Promise<{ VersionIdsToStages?: Record<string, string[]> | undefined }>;
  putSecretValue(
    input: { SecretId: string; SecretString: string; ClientRequestToken: string; VersionStages: string[] },
    call: PortCall,
  ): Promise<{ VersionId?: string | undefined }>;
  updateSecretVersionStage(
    input: { SecretId: string; VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string },
    call: PortCall,
  ): Promise<void>;
  createSecret(
    input: { Name: string; SecretString: string; ClientRequestToken: string },
    call: PortCall,
  ): Promise<{ VersionId?: string | undefined }>;
  /** The region the client resolved (flag, AWS_REGION, profile...). */
  region(): Promise<string>;
  destroy(): void;
}

export interface AwsClientSettings {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
}

export interface AwsProviderDeps {
  /** Loads the SDK module; injectable so a test can prove a failed load becomes a DependencyError. */
  readonly loadSdk?: () => Promise<AwsSdk>;
  /** Builds the port from the loaded SDK. */
  readonly createPort?: (sdk: AwsSdk, settings: AwsClientSettings) => SecretsManagerPort;
}

const loadAwsSdk = async (): Promise<AwsSdk> => import('@aws-sdk/client-secrets-manager');

/** The real port: one SDK client, no SDK retries, credentials from the SDK's default chain only. */
export function createSdkPort(sdk: AwsSdk, settings: AwsClientSettings): SecretsManagerPort {
  const client = new sdk.SecretsManagerClient({
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    // Our retry policy governs; the SDK's own would multiply attempts and hide the deadline.
    maxAttempts: 1,
    // Without throwOnRequestTimeout the handler only logs a warning when the timeout passes.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  });
  const opts = (call: PortCall) => (call.signal === undefined ? {} : { abortSignal: call.signal });
  return {
    getSecretValue: (input, call) => client.send(new sdk.GetSecretValueCommand(input), opts(call)),
    describeSecret: (input, call) => client.send(new sdk.DescribeSecretCommand(input), opts(call)),
    putSecretValue: (input, call) => client.send(new sdk.PutSecretValueCommand(input), opts(call)),
    updateSecretVersionStage: async (input, call) => {
      await client.send(new sdk.UpdateSecretVersionStageCommand(input), opts(call));
    },
    createSecret: (input, call) => client.send(new sdk.CreateSecretCommand(input), opts(call)),
    region: () => client.config.region(),
    destroy: () => client.destroy(),
  };
}

interface SecretArn {
  readonly region: string;
  readonly name: string;
}

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 chars>`. */
export function parseSecretArn(secret: string): SecretArn | undefined {
  const match = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:(.+)$/.exec(secret);
  if (!match) return undefined;
  const [, region = '', rest = ''] = match;
  // The six random characters AWS appends are not part of the name (a partial ARN lacks them).
  const name = /^(.+)-[A-Za-z0-9]{6}$/.exec(rest)?.[1] ?? rest;
  return { region, name };
}

/**
 * The ClientRequestToken, which AWS makes the VersionId: UUID-shaped (AWS wants 32-64 characters) and
 * the same for the same decision (expected version + payload), so a retried write lands once. The
 * expected version is part of it so that writing A, then B, then A again makes three versions.
 */
export function versionIdFor(expectedVersion: string | undefined, payload: string): string {
  const hex = createHash('sha256').update(`claude-creds\0${expectedVersion ?? ''}\0${payload}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

type AwsOperation = 'GetSecretValue' | 'DescribeSecret' | 'PutSecretValue' | 'UpdateSecretVersionStage' | 'CreateSecret';
type Intent = 'read' | 'write' | 'create';

export async function createAwsProvider(config: ProviderConfig, deps: AwsProviderDeps = {}): Promise<Provider> {
  const secret = requireSecret(config.secret);
  const arn = parseSecretArn(secret);
  if (secret.startsWith('arn:') && arn === undefined) {
    throw new ConfigError(
      `--secret ${secret} is not a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); pass the ARN or the plain secret name`,
    );
  }
  if (arn !== undefined && config.region !== undefined && config.region !== arn.region) {
    throw new ConfigError(`--region ${config.region} does not match the region ${arn.region} of the secret ARN; drop --region or fix it`);
  }
  if (config.endpoint !== undefined && !URL.canParse(config.endpoint)) {
    throw new ConfigError(`--endpoint ${config.endpoint} is not a URL; give one such as http://localhost:4566`);
  }

  let sdk: AwsSdk;
  try {
    sdk = await (deps.loadSdk ?? loadAwsSdk)();
  } catch (error) {
    throw new DependencyError(
      `could not load ${AWS_SDK_PACKAGE} (${firstLine(error)}); reinstall claude-creds or use an image that includes it`,
      { cause: error },
    );
  }
  // Region: the flag, else the ARN's own region (requests must go there), else the SDK's chain.
  const port = (deps.createPort ?? createSdkPort)(sdk, { region: config.region ?? arn?.region, endpoint: config.endpoint });
  let region: string;
  try {
    region = await port.region();
  } catch (error) {
    port.destroy();
    throw new ConfigError('no AWS region: pass --region, set AWS_REGION, or give the secret as an ARN', { cause: error });
  }

  const where = `AWS secret "${secret}" in ${region}`;
  const fail = (error: unknown, operation: AwsOperation, intent: Intent): ClaudeCredsError =>
    classifyAwsError(error, { operation, intent, secret, region });

  async function call<T>(operation: AwsOperation, intent: Intent, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw fail(error, operation, intent);
    }
  }

  async function currentVersion(signal: AbortSignal | undefined): Promise<{ current: string | undefined; pending: Set<string> }> {
    const described = await call('DescribeSecret', 'write', () => port.describeSecret({ SecretId: secret }, { signal }));
    let current: string | undefined;
    const pending = new Set<string>();
    for (const [id, stages] of Object.entries(described.VersionIdsToStages ?? {})) {
      if (stages.includes(CURRENT)) current = id;
      if (stages.includes(PENDING)) pending.add(id);
    }
    return { current, pending };
  }

  async function clearPending(versionId: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await port.updateSecretVersionStage({ SecretId: secret, VersionStage: PENDING, RemoveFromVersionId: versionId }, { signal });
    } catch (error) {
      // Someone else (another writer, a rotation) already moved AWSPENDING away: nothing left to clear.
      if (errorCode(error) === 'InvalidParameterException') return;
      throw fail(error, 'UpdateSecretVersionStage', 'write');
    }
  }

  async function create(payload: string, signal: AbortSignal | undefined): Promise<WriteOutcome> {
    if (arn !== undefined) {
      throw new NotFoundError(
        `${where} does not exist and cannot be created from an ARN; create it first, or pass its name with --secret`,
      );
    }
    const versionId = versionIdFor(undefined, payload);
    try {
      const created = await port.createSecret({ Name: secret, SecretString: payload, ClientRequestToken: versionId }, { signal });
      return { version: created.VersionId ?? versionId };
    } catch (error) {
      if (errorCode(error) !== 'ResourceExistsException') throw fail(error, 'CreateSecret', 'create');
    }
    // It exists now: either our own earlier attempt created it (its answer was lost) or another writer did.
    const { current } = await currentVersion(signal);
    if (current === versionId) return { version: versionId };
    throw new ConflictError(`${where} was created by another writer after it was read; re-read it and decide again`);
  }

  const provider = {
    name: 'aws',
    location: arn === undefined ? `secretsmanager:${region}:${secret}` : secret,
    writes: 'compare-and-swap',

    async read(options?: CallOptions): Promise<StoredPayload> {
      const signal = callSignal(options);
      const answer = await call('GetSecretValue', 'read', () =>
        port.getSecretValue({ SecretId: secret, VersionStage: CURRENT }, { signal }),
      );
      const payload = answer.SecretBinary ?? answer.SecretString;
      if (payload === undefined) {
        throw new NotFoundError(`${where} has no value in its AWSCURRENT version; push credentials to it first`);
      }
      return { payload, version: answer.VersionId };
    },

    async write(request: WriteRequest, options?: CallOptions): Promise<WriteOutcome> {
      const signal = callSignal(options);
      const { payload, expectedVersion } = request;
      if (expectedVersion === undefined) return create(payload, signal);

      const versionId = versionIdFor(expectedVersion, payload);
      const before = await currentVersion(signal);
      if (before.current === versionId) {
        // This very write already landed (a retry after a lost answer): finish its clean-up only.
        if (before.pending.has(versionId)) await clearPending(versionId, signal);
        return { version: versionId };
      }
      if (before.current !== expectedVersion) throw conflict(before.current, expectedVersion);

      let newVersion: string;
      try {
        const put = await port.putSecretValue(
          { SecretId: secret, SecretString: payload, ClientRequestToken: versionId, VersionStages: [PENDING] },
          { signal },
        );
        newVersion = put.VersionId ?? versionId;
      } catch (error) {
        // Same token with another value: the token is a hash of the value, so only a foreign version can hold it.
        if (errorCode(error) === 'ResourceExistsException') {
          throw new ConflictError(`${where} already has a version ${versionId} with other content; re-read it and decide again`);
        }
        throw fail(error, 'PutSecretValue', 'write');
      }

      try {
        await port.updateSecretVersionStage(
          { SecretId: secret, VersionStage: CURRENT, MoveToVersionId: newVersion, RemoveFromVersionId: expectedVersion },
          { signal },
        );
      } catch (error) {
        if (errorCode(error) !== 'InvalidParameterException') throw fail(error, 'UpdateSecretVersionStage', 'write');
        // AWSCURRENT is no longer on expectedVersion: another writer won. Leave our version unlabelled
        // (AWS treats that as deprecated) so nothing mistakes it for pending work.
        await clearPending(newVersion, signal).catch(() => undefined);
        throw conflict(undefined, expectedVersion);
      }
      await clearPending(newVersion, signal);
      return { version: newVersion };
    },

    async close(): Promise<void> {
      port.destroy();
    },
  } satisfies Provider;

  function conflict(current: string | undefined, expected: string): ConflictError {
    const now = current === undefined ? 'another writer moved AWSCURRENT' : `AWSCURRENT is now ${current}`;
    return new ConflictError(`${where} changed since it was read (expected version ${expected}; ${now}); re-read it and decide again`);
  }

  return provider;
}

function requireSecret(value: string | undefined): string {
  const secret = value?.trim();
  if (secret === undefined || secret === '') {
    throw new ConfigError('no AWS secret given: pass --secret with the name or ARN of the Secrets Manager secret');
  }
  return secret;
}


interface ErrorContext {
  readonly operation: AwsOperation;
  readonly intent: Intent;
  readonly secret: string;
  readonly region: string;
}

const TRANSIENT_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

const CREDENTIAL_CODES = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);

const WRITE_ACTIONS = 'secretsmanager:DescribeSecret, secretsmanager:PutSecretValue and secretsmanager:UpdateSecretVersionStage';

/** Turns an SDK or network error into one of ours. Exported for the CLI's diagnostics. */
export function classifyAwsError(error: unknown, context: ErrorContext): ClaudeCredsError {
  const code = errorCode(error);
  const status = httpStatus(error);
  const detail = safeDetail(error);
  const where = `AWS secret "${context.secret}" in ${context.region}`;
  const action = `secretsmanager:${context.operation}`;
  const options = { cause: error };

  if (TRANSIENT_CODES.has(code) || NETWORK_CODES.has(code) || (status !== undefined && status >= 500) || isServerFault(error)) {
    return new StoreUnavailableError(`${action} on ${where} failed for now (${detail})`, options);
  }
  if (code === 'CredentialsProviderError') {
    return new ConfigError(
      `no AWS credentials found for ${action}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or AWS_WEB_IDENTITY_TOKEN_FILE, or run with an instance/task role`,
      options,
    );
  }
  if (CREDENTIAL_CODES.has(code)) {
    return new PermissionDeniedError(
      `AWS rejected the credentials in use for ${action} (${detail}); refresh or replace them (expired session token, wrong key, clock skew)`,
      options,
    );
  }
  if (code === 'DecryptionFailure' || code.startsWith('KMS')) {
    return new PermissionDeniedError(
      `${where} could not be decrypted (${detail}); grant kms:Decrypt on the secret's KMS key to the identity in use`,
      options,
    );
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied' || status === 403) {
    const kms = /kms/i.test(detail) ? `; the secret's KMS key also needs kms:${context.intent === 'read' ? 'Decrypt' : 'GenerateDataKey and kms:Decrypt'}` : '';
    const needed =
      context.intent === 'read'
        ? 'secretsmanager:GetSecretValue'
        : context.intent === 'create'
          ? 'secretsmanager:CreateSecret'
          : WRITE_ACTIONS;
    return new PermissionDeniedError(
      `access denied to ${action} on ${where}: grant ${needed} on the secret to the identity in use${kms} (${detail})`,
      options,
    );
  }
  if (code === 'ResourceNotFoundException') {
    return new NotFoundError(`${where} was not found; check --secret and --region (or AWS_REGION), or create it (${detail})`, options);
  }
  if (
    code === 'InvalidParameterException' ||
    code === 'InvalidRequestException' ||
    code === 'ValidationException' ||
    code === 'LimitExceededException' ||
    code === 'ResourceExistsException'
  ) {
    return new ConfigError(`AWS refused ${action} on ${where} (${detail})`, options);
  }
  if (/region is missing/i.test(detail)) {
    return new ConfigError('no AWS region: pass --region, set AWS_REGION, or give the secret as an ARN', options);
  }
  if (/socket hang up|network|timed? ?out/i.test(detail)) {
    return new StoreUnavailableError(`${action} on ${where} failed for now (${detail})`, options);
  }
  return new ConfigError(`unexpected failure of ${action} on ${where} (${detail})`, options);
}

function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const { code, name, Code } = error as { code?: unknown; name?: unknown; Code?: unknown };
  for (const candidate of [code, Code, name]) {
    if (typeof candidate === 'string' && candidate !== '' && candidate !== 'Error') return candidate;
  }
  // Node's fetch/undici and some handlers put the system error under `cause`.
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error ? errorCode(cause) : '';
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function isServerFault(error: unknown): boolean {
  return (error as { $fault?: unknown } | null)?.$fault === 'server';
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/**
 * The error's code and first line, with anything that could be a value removed: AWS validation
 * messages may quote the input, and a request body must never reach a log.
 */
export function safeDetail(error: unknown): string {
  const code = errorCode(error);
  const message = firstLine(error)
    .replace(/sk-ant-[A-Za-z0-9_-]+/g, '[redacted]')
    .replace(/(["'`])[^"'`]{12,}\1/g, '[redacted]')
    .replace(/\{.*\}/g, '[redacted]')
    .slice(0, 300);
  if (message === '' || message === code) return code || 'unknown error';
  return code === '' || message.startsWith(code) ? message : `${code}: ${message}`;
}
