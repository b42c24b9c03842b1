/**
 * Azure Key Vault provider. Key Vault has no conditional write (no etag, no If-Match on secrets): every
 * setSecret adds a version. So writes are `detect-conflict`: check the latest version before writing and
 * again after, and report a ConflictError when another writer slipped in.
 *
 * The SDK (`@azure/keyvault-secrets`, `@azure/identity`) is loaded only when this provider is chosen and
 * sits behind `KeyVaultSecretsPort`, the two calls we use.
 */
import { readFile } from 'node:fs/promises';
import type { TokenCredential } from '@azure/identity';
import {
  ClaudeCredsError,
  ConfigError,
  ConflictError,
  DependencyError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
  describeCause,
} from '../../core/errors.js';
import type { CallOptions, Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';

/** One version of a secret as the port returns it. */
export interface KeyVaultSecretVersion {
  readonly value: string | undefined;
  readonly version: string | undefined;
}

/** The narrow slice of SecretClient this provider uses. */
export interface KeyVaultSecretsPort {
  getSecret(name: string, options: { version?: string; abortSignal?: AbortSignal }): Promise<KeyVaultSecretVersion>;
  setSecret(
    name: string,
    value: string,
    options: { contentType: string; abortSignal?: AbortSignal },
  ): Promise<KeyVaultSecretVersion>;
}

type KeyVaultSdk = Pick<typeof import('@azure/keyvault-secrets'), 'SecretClient'>;
type IdentitySdk = Pick<typeof import('@azure/identity'), 'DefaultAzureCredential'>;

export interface AzureProviderDeps {
  /** Loads `@azure/keyvault-secrets`; injectable so a test can prove a failed import becomes a DependencyError. */
  readonly loadKeyVault?: () => Promise<KeyVaultSdk>;
  /** Loads `@azure/identity`; not called when `credential` is given. */
  readonly loadIdentity?: () => Promise<IdentitySdk>;
  /** Replaces DefaultAzureCredential (in-process tests). */
  readonly credential?: TokenCredential;
}

/** Where the secret lives. `vaultUrl` is an origin, without a trailing slash. */
export interface AzureSecretTarget {
  readonly vaultUrl: string;
  readonly name: string;
  /** Set when the secret URL pins a version: reads return it, writes are refused. */
  readonly version: string | undefined;
}

/**
 * Opt-in for authority hosts MSAL cannot validate through Microsoft's instance discovery (Azure Stack,
 * ADFS, a local fake): without it MSAL calls login.microsoftonline.com to vet a custom AZURE_AUTHORITY_HOST.
 */
export const DISABLE_INSTANCE_DISCOVERY_ENV = 'CLAUDE_CREDS_AZURE_DISABLE_INSTANCE_DISCOVERY';

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const VERSION = /^[0-9a-zA-Z]{1,64}$/;
const CONTENT_TYPE = 'application/json';
const REFERENCE_HELP =
  'give --secret as a secret URL (https://NAME.vault.azure.net/secrets/SECRET) or as a secret name with --vault-url https://NAME.vault.azure.net';

export async function createAzureProvider(config: ProviderConfig, deps: AzureProviderDeps = {}): Promise<Provider> {
  const target = parseAzureSecretRef(config);
  const ca = config.caFile === undefined ? undefined : await readCaFile(config.caFile);
  const { SecretClient } = await loadSdk('@azure/keyvault-secrets', deps.loadKeyVault ?? (() => import('@azure/keyvault-secrets')));
  const credential = deps.credential ?? (await createDefaultCredential(config, deps));
  const client = new SecretClient(target.vaultUrl, credential, {
    // Our retry policy governs: the SDK must not retry 429/5xx behind its back.
    retryOptions: { maxRetries: 0 },
    // Trust for this client only; the process-wide store stays untouched.
    ...(ca === undefined ? {} : { tlsOptions: { ca } }),
  });
  const port: KeyVaultSecretsPort = {
    async getSecret(name, options) {
      const secret = await client.getSecret(name, options);
      return { value: secret.value, version: secret.properties.version };
    },
    async setSecret(name, value, options) {
      const secret = await client.setSecret(name, value, options);
      return { value: undefined, version: secret.properties.version };
    },
  };
  return createAzureProviderFromPort(target, port);
}

/** The provider logic over any port: what the tests drive through the real SDK client. */
export function createAzureProviderFromPort(target: AzureSecretTarget, port: KeyVaultSecretsPort): Provider {
  const location = `${target.vaultUrl}/secrets/${target.name}${target.version === undefined ? '' : `/${target.version}`}`;

  const readLatest = async (signal: AbortSignal | undefined, action: Action): Promise<KeyVaultSecretVersion | undefined> => {
    try {
      return await port.getSecret(target.name, withSignal({}, signal));
    } catch (error) {
      const mapped = mapAzureError(error, { target, action });
      if (mapped instanceof NotFoundError) return undefined;
      throw mapped;
    }
  };

  const provider = {
    name: 'azure',
    location,
    writes: 'detect-conflict',

    async read(options: CallOptions = {}): Promise<StoredPayload> {
      let secret: KeyVaultSecretVersion;
      try {
        secret = await port.getSecret(
          target.name,
          withSignal(target.version === undefined ? {} : { version: target.version }, options.signal),
        );
      } catch (error) {
        throw mapAzureError(error, { target, action: 'read' });
      }
      if (secret.value === undefined) {
        throw new NotFoundError(`${location} has no value (a disabled or empty version?); store the credentials JSON in it`);
      }
      return { payload: secret.value, version: secret.version };
    },

    async write(request: WriteRequest, options: CallOptions = {}): Promise<WriteOutcome> {
      if (target.version !== undefined) {
        throw new ConfigError(
          `${location} pins version ${target.version}; Key Vault writes always add a new version, so drop the version from --secret to write`,
        );
      }
      const before = await readLatest(options.signal, 'write');
      if (before?.version !== request.expectedVersion) {
        throw new ConflictError(
          `${location} changed since it was read (latest version ${before?.version ?? 'none'}, expected ${request.expectedVersion ?? 'none'}); nothing was written: re-read and decide again`,
        );
      }
      let written: KeyVaultSecretVersion;
      try {
        written = await port.setSecret(target.name, request.payload, withSignal({ contentType: CONTENT_TYPE }, options.signal));
      } catch (error) {
        throw mapAzureError(error, { target, action: 'write', hide: [request.payload] });
      }
      const after = await readLatest(options.signal, 'write');
      if (after?.version !== written.version) {
        throw new ConflictError(
          `another writer added version ${after?.version ?? 'none'} to ${location} right after ours (${written.version ?? 'unknown'}); our version landed but is not the latest: re-read and decide again`,
        );
      }
      return { version: written.version };
    },
  } satisfies Provider;
  return provider;
}

function withSignal<T extends object>(options: T, signal: AbortSignal | undefined): T & { abortSignal?: AbortSignal } {
  return signal === undefined ? options : { ...options, abortSignal: signal };
}

/** Resolve `--secret` (URL or name), `--vault-url` and `--endpoint` into one vault and secret. */
export function parseAzureSecretRef(config: Pick<ProviderConfig, 'secret' | 'vaultUrl' | 'endpoint'>): AzureSecretTarget {
  const secret = config.secret?.trim();
  if (secret === undefined || secret === '') {
    throw new ConfigError(`no Key Vault secret given: ${REFERENCE_HELP}`);
  }
  const flagVault = config.vaultUrl === undefined || config.vaultUrl.trim() === '' ? undefined : vaultOrigin(config.vaultUrl, '--vault-url');
  const endpoint = config.endpoint === undefined || config.endpoint.trim() === '' ? undefined : vaultOrigin(config.endpoint, '--endpoint');

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(secret)) {
    const { vaultUrl, name, version } = parseSecretUrl(secret);
    if (flagVault !== undefined && flagVault !== vaultUrl) {
      throw new ConfigError(`--secret names vault ${vaultUrl} but --vault-url says ${flagVault}; give the vault only once`);
    }
    return { vaultUrl: endpoint ?? vaultUrl, name, version };
  }
  checkSecretName(secret);
  const vaultUrl = endpoint ?? flagVault;
  if (vaultUrl === undefined) {
    throw new ConfigError(`secret name '${secret}' needs a vault: ${REFERENCE_HELP}`);
  }
  return { vaultUrl, name: secret, version: undefined };
}

function parseSecretUrl(text: string): AzureSecretTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`--secret '${text}' is not a valid URL; ${REFERENCE_HELP}`);
  }
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const [kind, name, version, ...rest] = segments;
  if (kind !== 'secrets' || name === undefined || rest.length > 0 || url.search !== '' || url.hash !== '') {
    throw new ConfigError(
      `--secret '${text}' is not a Key Vault secret URL: expected https://NAME.vault.azure.net/secrets/SECRET or .../secrets/SECRET/VERSION`,
    );
  }
  checkSecretName(decodeURIComponent(name));
  if (version !== undefined && !VERSION.test(version)) {
    throw new ConfigError(`--secret '${text}' has an invalid version '${version}': Key Vault versions are 32 hex characters`);
  }
  return { vaultUrl: vaultOrigin(url.origin, '--secret'), name: decodeURIComponent(name), version };
}

function vaultOrigin(text: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(`${flag} '${text}' is not a URL; expected https://NAME.vault.azure.net`);
  }
  if (url.protocol !== 'https:') {
    throw new ConfigError(`${flag} '${text}' must use https: Key Vault only accepts TLS (expected https://NAME.vault.azure.net)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${flag} must not contain credentials; Key Vault authenticates with Entra ID tokens`);
  }
  return url.origin;
}

function checkSecretName(name: string): void {
  if (SECRET_NAME.test(name)) return;
  if (/[/\\~]/.test(name) || name.startsWith('.') || name.endsWith('.json')) {
    throw new ConfigError(
      `'${name}' looks like a file path, but Key Vault secret names may only hold letters, digits and '-' (1-127 characters); the Claude file path cannot be a secret name: use e.g. claude-credentials`,
    );
  }
  throw new ConfigError(`'${name}' is not a valid Key Vault secret name: only letters, digits and '-' (1-127 characters)`);
}

async function readCaFile(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --ca-file ${path} (${describeCause(error)})`, { cause: error });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`--ca-file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return pem;
}

async function loadSdk<T>(pkg: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new DependencyError(
      `the azure provider needs the npm package ${pkg}, which could not be loaded (${describeCause(error)}); reinstall claude-creds or use an image that includes it`,
      { cause: error },
    );
  }
}

async function createDefaultCredential(config: ProviderConfig, deps: AzureProviderDeps): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await loadSdk('@azure/identity', deps.loadIdentity ?? (() => import('@azure/identity')));
  const disableInstanceDiscovery = isTrue(config.env[DISABLE_INSTANCE_DISCOVERY_ENV]);
  try {
    // The chain reads AZURE_* itself (Workload Identity, managed identity, service principal...), as wanted.
    return new DefaultAzureCredential(disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {});
  } catch (error) {
    // Thrown for an invalid AZURE_TOKEN_CREDENTIALS, for instance.
    throw new ConfigError(`cannot set up DefaultAzureCredential: ${safeText(describeCause(error), [])}`, { cause: error });
  }
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes'].includes(value.trim().toLowerCase());
}

type Action = 'read' | 'write';

interface ErrorContext {
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
        : `grant it the role "Key Vault Secrets Officer" on the vault (Azure RBAC) or the secret permissions "get" and "set" in the vault's access policy`;
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
function safeText(text: string, hide: readonly string[], limit = 300): string {
  let safe = text.replace(TOKEN_LIKE, '[redacted]');
  for (const value of hide) {
    if (value !== '' && safe.includes(value)) safe = safe.split(value).join('[redacted]');
  }
  return safe.length > limit ? `${safe.slice(0, limit)}...` : safe;
}
