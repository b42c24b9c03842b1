/**
 * What @azure/keyvault-secrets and @azure/identity throw, as our typed errors with messages that say
 * which role or permission to grant. Nothing token-shaped, and never the payload, reaches a message.
 */
import {
  ClaudeCredsError,
  ConfigError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
  describeCause,
} from '../../core/errors.js';
import { AnswerTooLargeError, AnswerTruncatedError, answerTooLarge, findCause } from '../answer-limit.js';
import type { AzureSecretTarget } from './config.js';

export type Action = 'read' | 'write' | 'list';

export interface ErrorContext {
  readonly target: AzureSecretTarget;
  readonly action: Action;
  /** Values that must never appear in a message (the payload being written). */
  readonly hide?: readonly string[];
}

const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError']);
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const CREDENTIAL_HELP =
  'DefaultAzureCredential tries, in order: AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH); ' +
  'Workload Identity (AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE, set by the AKS webhook on a labelled pod with a federated service account); ' +
  'a managed identity (AZURE_CLIENT_ID picks a user-assigned one); then az/azd/PowerShell logins. AZURE_TOKEN_CREDENTIALS can pin one of them';

/** Turn anything the SDK throws into one of our typed errors, with a message that says what to fix. */
export function mapAzureError(error: unknown, context: ErrorContext): ClaudeCredsError {
  if (error instanceof ClaudeCredsError) return error;
  const { target, action } = context;
  const hide = context.hide ?? [];
  const where = `secret '${target.name}'${target.version === undefined ? '' : ` version ${target.version}`} in vault ${target.vaultUrl}`;
  const name = error instanceof Error ? error.name : '';
  const cause = { cause: error };

  if (findCause(error, AnswerTooLargeError)) return answerTooLarge(`Key Vault (${where})`);
  if (findCause(error, AnswerTruncatedError)) {
    return new StoreUnavailableError(`Key Vault answer for ${where} was cut off (${safeText(describeCause(findCause(error, AnswerTruncatedError)), hide)})`, cause);
  }
  if (name === 'AbortError') {
    return new StoreUnavailableError(`Key Vault call for ${where} was aborted before it finished (deadline reached)`, cause);
  }
  if (CREDENTIAL_ERRORS.has(name)) {
    return new PermissionDeniedError(
      `could not get an Entra ID token to ${action} ${where} (${name}: ${safeText(credentialDetail(error), hide, 600)}). ${CREDENTIAL_HELP}`,
      cause,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/challenge resource .* does not match/i.test(message)) {
    return new ConfigError(
      `the server at ${target.vaultUrl} asked for a token for a resource outside its own domain, so no token was sent; check --vault-url (it must be the vault's own URL, e.g. https://NAME.vault.azure.net; see https://aka.ms/azsdk/blog/vault-uri)`,
      cause,
    );
  }

  const status = (error as { statusCode?: unknown }).statusCode;
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;
  const detail = () => serverDetail(codeText, message, hide);

  if (typeof status !== 'number') {
    if (codeText !== undefined && TLS_TRUST_CODES.has(codeText)) {
      return new ConfigError(
        `the TLS certificate of ${target.vaultUrl} is not trusted (${codeText}); if the vault is reached through a private CA, pass that CA's PEM with --ca-file`,
        cause,
      );
    }
    if (codeText === 'ENOTFOUND') {
      return new ConfigError(`the vault host of ${target.vaultUrl} does not resolve (ENOTFOUND); check --vault-url / --secret`, cause);
    }
    return new StoreUnavailableError(
      `cannot reach Key Vault at ${target.vaultUrl} (${codeText ?? (name || 'network error')}: ${safeText(firstLine(error), hide)})`,
      cause,
    );
  }

  if (status === 401) {
    return new PermissionDeniedError(
      `Key Vault ${target.vaultUrl} rejected the Entra ID token (401${detail()}): the identity may belong to another tenant than the vault. ${CREDENTIAL_HELP}`,
      cause,
    );
  }
  if (status === 403) {
    const permission =
      action === 'read'
        ? `grant it the role "Key Vault Secrets User" on the vault (Azure RBAC) or the secret permission "get" in the vault's access policy`
        : action === 'list'
          ? `grant it the role "Key Vault Secrets User" (or "Key Vault Secrets Officer") on the vault (Azure RBAC) or the secret permission "list" in the vault's access policy`
          : `grant it the role "Key Vault Secrets Officer" on the vault (Azure RBAC) or the secret permissions "get", "set" and "list" in the vault's access policy`;
    return new PermissionDeniedError(`the identity in use may not ${action} ${where} (403${detail()}): ${permission}`, cause);
  }
  if (status === 404) {
    const vaultName = new URL(target.vaultUrl).hostname.split('.')[0] ?? target.vaultUrl;
    return new NotFoundError(
      `${where} was not found (404${detail()}); create it (az keyvault secret set --vault-name ${vaultName} --name ${target.name} --file ~/.claude/.credentials.json) or fix --secret`,
      cause,
    );
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new StoreUnavailableError(`Key Vault ${target.vaultUrl} answered ${status}${detail()} for ${where}`, cause);
  }
  if (status === 409) {
    return new ConfigError(
      `Key Vault refused to ${action} ${where} (409${detail()}); a soft-deleted secret of that name must be recovered or purged first`,
      cause,
    );
  }
  return new ConfigError(`Key Vault refused to ${action} ${where} (${status}${detail()}); check the vault URL and secret name`, cause);
}

function serverDetail(code: string | undefined, message: string, hide: readonly string[]): string {
  // Key Vault appends a generic help link; our own advice follows instead.
  const text = safeText((message.split('\n')[0] ?? '').replace(/\s*For help resolving this issue.*$/, ''), hide);
  return `${code === undefined ? '' : ` ${code}`}${text === '' ? '' : `: ${text}`}`;
}

function firstLine(error: unknown): string {
  return describeCause(error);
}

/** The part of an @azure/identity error that says why (Entra's AADSTS code and text), on one line. */
function credentialDetail(error: unknown): string {
  const oneLine = (text: string) => text.replace(/More details:/g, '').replace(/\s+/g, ' ').replace(/,$/, '').trim();
  const response = (error as { errorResponse?: { error?: unknown; errorDescription?: unknown } }).errorResponse;
  if (response !== undefined && typeof response.errorDescription === 'string') {
    return oneLine(`${typeof response.error === 'string' ? `${response.error}: ` : ''}${response.errorDescription}`);
  }
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors.map((inner) => (inner instanceof Error ? `${inner.name}: ${oneLine(inner.message)}` : String(inner))).join('; ');
  }
  return oneLine(error instanceof Error ? error.message : String(error));
}

const TOKEN_LIKE = /(sk-ant-[\w-]+|eyJ[\w-]{8,}\.[\w-]+|Bearer\s+\S+)/g;

/** Server and SDK text, cut short, with anything token-shaped or any hidden value removed. */
export function safeText(text: string, hide: readonly string[], limit = 300): string {
  let safe = text.replace(TOKEN_LIKE, '[redacted]');
  for (const value of hide) {
    if (value !== '' && safe.includes(value)) safe = safe.split(value).join('[redacted]');
  }
  return safe.length > limit ? `${safe.slice(0, limit)}...` : safe;
}
