/**
 * The typed errors of claude-creds. Each carries a one-line message that says what to do and an exit
 * code (sysexits-style, see `EXIT`). The CLI turns any of them into one line on stderr; nothing else
 * should ever reach the user as a stack trace.
 *
 * Messages must never contain a token value: build them from names, paths and sizes only.
 */

export const EXIT = {
  ok: 0,
  usage: 64,
  dataError: 65,
  noInput: 66,
  unavailable: 69,
  software: 70,
  cantCreate: 73,
  tempFailure: 75,
  permission: 77,
  config: 78,
  cannotExecute: 126,
  commandNotFound: 127,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Every error class names itself as a string: the bundle is minified without esbuild's keepNames (its
 * per-function bookkeeping cost start-up, docs/performance.md), so a class's own name is not kept, and
 * the name is what the fatal error line reports as errorType.
 */
export abstract class ClaudeCredsError extends Error {
  abstract readonly exitCode: ExitCode;
  /** Whether the shared retry policy may try the same call again. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad flags or flag combinations. */
export class UsageError extends ClaudeCredsError {
  override readonly name: string = 'UsageError';
  readonly exitCode = EXIT.usage;
}

/** Missing or inconsistent configuration (no provider chosen, region unset, unknown secret form). */
export class ConfigError extends ClaudeCredsError {
  override readonly name: string = 'ConfigError';
  readonly exitCode = EXIT.config;
}

export type CredentialsProblem =
  | 'empty'
  | 'too-large'
  | 'invalid-json'
  | 'not-an-object'
  | 'missing-field'
  | 'wrong-type'
  | 'blanked';

/** The payload is not a usable credentials document. Never written, never pushed. */
export class InvalidCredentialsError extends ClaudeCredsError {
  override readonly name: string = 'InvalidCredentialsError';
  readonly exitCode = EXIT.dataError;
  constructor(
    readonly problem: CredentialsProblem,
    message: string,
  ) {
    super(message);
  }
}

/** The store returned a payload that fails its own integrity check (GCP CRC32C). */
export class IntegrityError extends ClaudeCredsError {
  override readonly name: string = 'IntegrityError';
  readonly exitCode = EXIT.dataError;
}

/** The secret, variable or file that was asked for does not exist. */
export class NotFoundError extends ClaudeCredsError {
  override readonly name: string = 'NotFoundError';
  readonly exitCode = EXIT.noInput;
}

/** The identity in use lacks a permission; the message names the action or role to grant. */
export class PermissionDeniedError extends ClaudeCredsError {
  override readonly name: string = 'PermissionDeniedError';
  readonly exitCode = EXIT.permission;
}

/** Throttling, 5xx, network trouble: worth another try within the deadline. */
export class StoreUnavailableError extends ClaudeCredsError {
  override readonly name: string = 'StoreUnavailableError';
  readonly exitCode = EXIT.unavailable;
  override readonly retryable = true;
}

/** Retries ran out of time; carries the last transient failure as its cause. */
export class DeadlineExceededError extends ClaudeCredsError {
  override readonly name: string = 'DeadlineExceededError';
  readonly exitCode = EXIT.unavailable;
}

/** A compare-and-swap lost: someone else wrote a version after ours was read. Re-read and re-decide. */
export class ConflictError extends ClaudeCredsError {
  override readonly name: string = 'ConflictError';
  readonly exitCode = EXIT.tempFailure;
}

/** The store holds newer credentials than the ones we were asked to write. */
export class StaleWriteError extends ClaudeCredsError {
  override readonly name: string = 'StaleWriteError';
  readonly exitCode = EXIT.tempFailure;
}

/** The provider cannot be written to (env), or its SDK does not allow it. */
export class ReadOnlyProviderError extends ClaudeCredsError {
  override readonly name: string = 'ReadOnlyProviderError';
  readonly exitCode = EXIT.usage;
}

/** The local file could not be written: permissions, symlinks, full disk, wrong file type. */
export class WriteError extends ClaudeCredsError {
  override readonly name: string = 'WriteError';
  readonly exitCode = EXIT.cantCreate;
}

/** A provider's SDK could not be loaded (a stripped image, a broken install). */
export class DependencyError extends ClaudeCredsError {
  override readonly name: string = 'DependencyError';
  readonly exitCode = EXIT.unavailable;
}

/** The wrapped command could not be started: 127 when it does not exist, 126 when it cannot run (as shells do). */
export class SpawnError extends ClaudeCredsError {
  override readonly name: string = 'SpawnError';
  constructor(
    message: string,
    readonly exitCode: typeof EXIT.commandNotFound | typeof EXIT.cannotExecute,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isClaudeCredsError(error: unknown): error is ClaudeCredsError {
  return error instanceof ClaudeCredsError;
}

/** A short, token-free description of any thrown value, for wrapping foreign errors. */
export function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const known = typeof code === 'string' || typeof code === 'number';
    const prefix = known && !error.message.startsWith(String(code)) ? `${String(code)}: ` : '';
    return `${prefix}${error.message}`.split('\n')[0] ?? '';
  }
  return String(error);
}

/**
 * The OAuth token endpoint refused the refresh token (`invalid_grant`). Refresh tokens are single-use:
 * another copy already rotated it, or the login was revoked. Retrying cannot help; only a fresh login can.
 */
export class InvalidGrantError extends ClaudeCredsError {
  override readonly name: string = 'InvalidGrantError';
  readonly exitCode = EXIT.permission;
}

/** The OAuth token endpoint throttled (429), failed (5xx), timed out or could not be reached. */
export class OAuthUnavailableError extends ClaudeCredsError {
  override readonly name: string = 'OAuthUnavailableError';
  readonly exitCode = EXIT.unavailable;
  override readonly retryable = true;
  /** The server's `Retry-After`, when it gave one: the shared retry waits at least this long. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * The OAuth token endpoint answered something unusable: a 4xx other than invalid_grant (wrong client id or
 * endpoint), or a 200 without a usable access token, expiry or inference scope. `oauthError` is the RFC 6749
 * `error` code when the server sent one.
 */
export class OAuthResponseError extends ClaudeCredsError {
  override readonly name: string = 'OAuthResponseError';
  readonly exitCode = EXIT.dataError;
  constructor(
    message: string,
    readonly oauthError?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
