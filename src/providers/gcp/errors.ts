/**
 * gRPC and SDK errors from Secret Manager as our typed errors, with messages that name the role and
 * permission to grant. Nothing the server quotes from a request reaches a message (see safeDetail).
 */
import {
  ConfigError,
  IntegrityError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
} from '../../core/errors.js';
import { answerTooLarge } from '../answer-limit.js';
import { AbortedCall } from './client.js';
import type { SecretRef } from './config.js';


export type Action = 'access' | 'add' | 'create' | 'prune';

export interface ErrorContext {
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
  prune: {
    role: 'roles/secretmanager.secretVersionManager',
    permission: 'secretmanager.versions.list and secretmanager.versions.destroy',
    on: (r) => r.secret,
    verb: 'list and destroy old versions of',
  },
};

const ADC_HELP =
  'set up Application Default Credentials: `gcloud auth application-default login`, GOOGLE_APPLICATION_CREDENTIALS=<key or workload identity federation file>, Workload Identity on GKE, or an attached service account on GCE/Cloud Run';

export async function guarded<T>(run: () => Promise<T>, ctx: ErrorContext): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw classify(error, ctx);
  }
}

export function classify(error: unknown, ctx: ErrorContext): Error {
  const { action, resource, ref } = ctx;
  if (error instanceof AbortedCall) {
    return new StoreUnavailableError(`GCP Secret Manager did not answer for ${resource} before the deadline`, { cause: error });
  }
  const code = grpcCode(error);
  const detail = safeDetail(error);
  const what = `${STATUS_NAMES[code ?? -1] ?? 'error'}${detail === '' ? '' : `: ${detail}`}`;
  // grpc-js refused an answer over grpc.max_receive_message_length (quota errors share the code).
  if (code === 8 && /message larger than max/i.test(detail)) return answerTooLarge(`GCP Secret Manager (${resource})`);
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

export function grpcCode(error: unknown): number | undefined {
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

export function firstLine(error: unknown): string {
  return safeDetail(error) || 'unknown error';
}

/** Marks ALREADY_EXISTS from CreateSecret, which the write path treats as success. */
export class AlreadyExists extends Error {
  override readonly name: string = 'AlreadyExists';
}
