/**
 * AWS SDK and network errors as our typed errors, with messages that say what to grant or fix. Nothing
 * the SDK quotes from a request or an answer reaches a message (see safeDetail).
 */
import {
  ConfigError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
  type ClaudeCredsError,
} from '../../core/errors.js';
import { AnswerTooLargeError, AnswerTruncatedError, answerTooLarge, findCause } from '../answer-limit.js';
import { NO_REGION_HELP } from './config.js';

export type AwsOperation = 'GetSecretValue' | 'DescribeSecret' | 'PutSecretValue' | 'UpdateSecretVersionStage' | 'CreateSecret';
export type Intent = 'read' | 'write' | 'create';

export interface ErrorContext {
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

  if (findCause(error, AnswerTooLargeError)) return answerTooLarge(`${action} on ${where}`);
  if (findCause(error, AnswerTruncatedError)) {
    return new StoreUnavailableError(`${action} on ${where} failed for now (${detail})`, options);
  }
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
    return new ConfigError(NO_REGION_HELP, options);
  }
  if (/socket hang up|network|timed? ?out/i.test(detail)) {
    return new StoreUnavailableError(`${action} on ${where} failed for now (${detail})`, options);
  }
  return new ConfigError(`unexpected failure of ${action} on ${where} (${detail})`, options);
}

export function errorCode(error: unknown): string {
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

export function firstLine(error: unknown): string {
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
