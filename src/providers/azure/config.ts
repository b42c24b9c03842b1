/**
 * What the azure provider makes of its configuration: one vault and one secret from `--secret` (a
 * secret URL or a name), `--vault-url` and `--endpoint`. Pure.
 */
import { ConfigError } from '../../core/errors.js';
import type { ProviderConfig } from '../../core/provider.js';

/** Where the secret lives. `vaultUrl` is an origin, without a trailing slash. */
export interface AzureSecretTarget {
  readonly vaultUrl: string;
  readonly name: string;
  /** Set when the secret URL pins a version: reads return it, writes are refused. */
  readonly version: string | undefined;
}

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const VERSION = /^[0-9a-zA-Z]{1,64}$/;
const REFERENCE_HELP =
  'give --secret as a secret URL (https://NAME.vault.azure.net/secrets/SECRET) or as a secret name with --vault-url https://NAME.vault.azure.net';

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
