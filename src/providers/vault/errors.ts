/**
 * Vault's answers and network failures as our typed errors. Providers never retry: 429, 5xx (sealed,
 * standby), timeouts and network errors become StoreUnavailableError for the shared retry policy. No
 * token, JWT, secret_id or payload is ever put in a message (scrub).
 */
import { ConfigError, StoreUnavailableError, describeCause, type ClaudeCredsError } from '../../core/errors.js';
import { AnswerTooLargeError, AnswerTruncatedError, answerTooLarge, findCause } from '../answer-limit.js';

export function isTransient(status: number): boolean {
  return status === 429 || status === 408 || status === 412 || status >= 500 || status === 0;
}

export function unavailable(what: string, status: number, detail: string): StoreUnavailableError {
  if (/vault is sealed/i.test(detail)) return new StoreUnavailableError(`${what} failed for now: Vault is sealed (${status}); unseal it`);
  const kind = status === 429 ? 'throttled' : status === 503 ? 'unavailable or standby' : 'server error';
  return new StoreUnavailableError(`${what} failed for now (${status} ${kind}: ${detail})`);
}

export function networkError(what: string, error: unknown): ClaudeCredsError {
  if (findCause(error, AnswerTooLargeError)) return answerTooLarge(what);
  const truncated = findCause(error, AnswerTruncatedError);
  if (truncated) return new StoreUnavailableError(`${what} failed for now (${truncated.message})`, { cause: error });
  const code = (error as { code?: unknown; name?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  const tls = typeof code === 'string' && /CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO_VERIFY|HOSTNAME/i.test(code);
  if (tls) {
    // A certificate problem does not go away on retry: say what to trust.
    return new ConfigError(
      `${what}: the server's TLS certificate is not trusted (${String(code)}); set VAULT_CACERT or --ca-file to the PEM of the CA that signed it`,
      { cause: error },
    );
  }
  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return new StoreUnavailableError(`${what} failed for now (timed out)`, { cause: error });
  }
  const text = typeof code === 'string' ? code : describeCause(error).slice(0, 200);
  return new StoreUnavailableError(`${what} failed for now (${text})`, { cause: error });
}

/** Vault's `{"errors":[...]}`, on one line; never the request. */
export function vaultErrors(body: unknown, status: number): string {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  const list = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  const text = list
    .join('; ')
    .replace(/\d+ errors? occurred:/g, '')
    .replace(/\s*\*\s+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text === '' ? `HTTP ${status}` : text;
}

/** The detail with every known secret and anything token- or document-shaped removed, bounded. */
export function scrub(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  return clean
    .replace(/sk-ant-[A-Za-z0-9_-]+/g, '[redacted]')
    .replace(/\b(?:hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{16,}/g, '[redacted]')
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/\{.*\}/g, '[redacted]')
    .slice(0, 300);
}
