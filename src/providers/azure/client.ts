/**
 * The narrow port onto Key Vault's secrets API (`@azure/keyvault-secrets`, with `@azure/identity`'s
 * DefaultAzureCredential), loaded only when this provider is chosen. The client sends each request once
 * (the shared retry policy governs), trusts --ca-file for itself only, counts the requests it sends
 * and reads every answer with a bound.
 */
import { readFile } from 'node:fs/promises';
import type { TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { ConfigError, DependencyError, describeCause } from '../../core/errors.js';
import type { ProviderConfig } from '../../core/provider.js';
import {
  AnswerTruncatedError,
  MAX_STORE_ANSWER_BYTES,
  RequestCounter,
  declaredLength,
  endsBeforeJsonDoes,
  readBounded,
} from '../answer-limit.js';
import type { AzureSecretTarget } from './config.js';
import { safeText } from './errors.js';

/** One version of a secret as the port returns it. */
export interface KeyVaultSecretVersion {
  readonly value: string | undefined;
  readonly version: string | undefined;
  /** When it was created, in ms (Key Vault keeps whole seconds). */
  readonly createdOn?: number | undefined;
}

/** A version's properties, as listed (no value). */
export interface KeyVaultVersionProperties {
  readonly version: string;
  readonly createdOn: number | undefined;
  readonly enabled: boolean;
}

/** The narrow slice of SecretClient this provider uses. */
export interface KeyVaultSecretsPort {
  getSecret(name: string, options: { version?: string; abortSignal?: AbortSignal }): Promise<KeyVaultSecretVersion>;
  setSecret(
    name: string,
    value: string,
    options: { contentType: string; abortSignal?: AbortSignal },
  ): Promise<KeyVaultSecretVersion>;
  /** Every version of the secret, at most `max` of them, in the service's order (by id, not by time). */
  listVersions(name: string, options: { max: number; abortSignal?: AbortSignal }): Promise<KeyVaultVersionProperties[]>;
  /** HTTP requests sent to the vault so far. */
  requestsSent(): number;
}

type KeyVaultSdk = Pick<typeof import('@azure/keyvault-secrets'), 'SecretClient'>;
type IdentitySdk = Pick<typeof import('@azure/identity'), 'DefaultAzureCredential'>;
type PipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

export interface AzureClientDeps {
  /** Loads `@azure/keyvault-secrets`; injectable so a test can prove a failed import becomes a DependencyError. */
  readonly loadKeyVault?: () => Promise<KeyVaultSdk>;
  /** Loads `@azure/identity`; not called when `credential` is given. */
  readonly loadIdentity?: () => Promise<IdentitySdk>;
  /** Replaces DefaultAzureCredential (in-process tests). */
  readonly credential?: TokenCredential;
}

/**
 * Opt-in for authority hosts MSAL cannot validate through Microsoft's instance discovery (Azure Stack,
 * ADFS, a local fake): without it MSAL calls login.microsoftonline.com to vet a custom AZURE_AUTHORITY_HOST.
 */
export const DISABLE_INSTANCE_DISCOVERY_ENV = 'CLAUDE_CREDS_AZURE_DISABLE_INSTANCE_DISCOVERY';

export async function createSdkPort(target: AzureSecretTarget, config: ProviderConfig, deps: AzureClientDeps): Promise<KeyVaultSecretsPort> {
  const ca = config.caFile === undefined ? undefined : await readCaFile(config.caFile);
  const { SecretClient } = await loadSdk('@azure/keyvault-secrets', deps.loadKeyVault ?? (() => import('@azure/keyvault-secrets')));
  const credential = deps.credential ?? (await createDefaultCredential(config, deps));
  const sent = new RequestCounter();
  const client = new SecretClient(target.vaultUrl, credential, {
    // Our retry policy governs: the SDK must not retry 429/5xx behind its back.
    retryOptions: { maxRetries: 0 },
    // Trust for this client only; the process-wide store stays untouched.
    ...(ca === undefined ? {} : { tlsOptions: { ca } }),
    // Per retry, below the authentication policy: every request that goes out, the challenge's included.
    additionalPolicies: [{ policy: boundedAnswerPolicy(sent), position: 'perRetry' }],
  });
  return {
    async getSecret(name, options) {
      const secret = await client.getSecret(name, options);
      return { value: secret.value, version: secret.properties.version, createdOn: secret.properties.createdOn?.getTime() };
    },
    async setSecret(name, value, options) {
      const secret = await client.setSecret(name, value, options);
      return { value: undefined, version: secret.properties.version, createdOn: secret.properties.createdOn?.getTime() };
    },
    async listVersions(name, options) {
      const found: KeyVaultVersionProperties[] = [];
      const listing = client.listPropertiesOfSecretVersions(name, options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal });
      for await (const properties of listing) {
        if (properties.version === undefined) continue;
        found.push({ version: properties.version, createdOn: properties.createdOn?.getTime(), enabled: properties.enabled !== false });
        if (found.length >= options.max) break;
      }
      return found;
    },
    requestsSent: () => sent.value,
  };
}

const EVERY_STATUS = new Set([Number.POSITIVE_INFINITY]);

/**
 * The SDK's HTTP client reads a body whole into a string before any policy sees it. Asking it for a
 * stream instead (for every status) lets this policy read it with a bound, and hand the text on as if
 * the client had read it. A body without a Content-Length that stops inside its JSON was cut off.
 */
function boundedAnswerPolicy(sent: RequestCounter): PipelinePolicy {
  return {
    name: 'claudeCredsBoundedAnswer',
    async sendRequest(request, next) {
      sent.add();
      const streamed = request.streamResponseStatusCodes;
      request.streamResponseStatusCodes = EVERY_STATUS;
      let response;
      try {
        response = await next(request);
      } finally {
        // The deserializer skips bodies of statuses the request asked to stream: put the caller's set back.
        request.streamResponseStatusCodes = streamed;
      }
      const stream = response.readableStreamBody;
      if (stream === undefined) return response;
      const declared = declaredLength(response.headers.get('content-length'));
      const body = await readBounded(stream, MAX_STORE_ANSWER_BYTES, declared);
      const text = body.toString('utf8');
      if (declared === undefined && /json/i.test(response.headers.get('content-type') ?? '') && endsBeforeJsonDoes(text)) {
        throw new AnswerTruncatedError(`the answer ended after ${body.length} bytes, in the middle of its JSON`);
      }
      return { ...response, readableStreamBody: undefined, bodyAsText: text };
    },
  };
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

async function createDefaultCredential(config: ProviderConfig, deps: AzureClientDeps): Promise<TokenCredential> {
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
