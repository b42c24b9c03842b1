/**
 * What the vault provider makes of its configuration: the KV v2 path (`--secret`), the address
 * (`--endpoint` or VAULT_ADDR) and the auth method from the environment snapshot. Pure.
 */
import { ConfigError } from '../../core/errors.js';

export const DEFAULT_FIELD = 'credentials';
export const DEFAULT_K8S_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface VaultSecretRef {
  readonly mount: string;
  readonly path: string;
  /** The field named after `#`; undefined = the default (`credentials`, or the whole-document shape). */
  readonly field: string | undefined;
}

/** `<mount>/<path>[#field]` or `<mount>/data/<path>[#field]`. */
export function parseVaultSecret(secret: string): VaultSecretRef {
  const hash = secret.indexOf('#');
  const ref = (hash === -1 ? secret : secret.slice(0, hash)).trim().replace(/^\/+|\/+$/g, '');
  const field = hash === -1 ? undefined : secret.slice(hash + 1).trim();
  if (field === '') throw new ConfigError(`--secret ${secret} has an empty #field; name the field after # or drop the #`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
    throw new ConfigError(
      `--secret ${secret} is a URL; give the KV path as <mount>/<path> (e.g. secret/claude/credentials) and the server in VAULT_ADDR or --endpoint`,
    );
  }
  if (ref.startsWith('v1/')) {
    throw new ConfigError(`--secret ${secret}: leave out the /v1/ prefix and give <mount>/<path>, e.g. secret/claude/credentials`);
  }
  const segments = ref.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ConfigError(`--secret ${secret} is not a clean KV path (empty, . or .. segments); give <mount>/<path>, e.g. secret/claude/credentials`);
  }
  const dataAt = segments.indexOf('data', 1);
  let mount: string[];
  let path: string[];
  if (dataAt !== -1) {
    mount = segments.slice(0, dataAt);
    path = segments.slice(dataAt + 1);
  } else {
    mount = segments.slice(0, 1);
    path = segments.slice(1);
  }
  if (path.length === 0) {
    throw new ConfigError(
      `--secret ${secret} names a mount but no secret; give <mount>/<path>, e.g. secret/claude/credentials (KV v2 mount "secret", path "claude/credentials")`,
    );
  }
  return { mount: mount.join('/'), path: path.join('/'), field };
}

export type AuthMethod =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'kubernetes'; readonly role: string; readonly mount: string; readonly jwtPath: string }
  | { readonly kind: 'approle'; readonly roleId: string; readonly secretId: string; readonly mount: string };

export function authFrom(env: Readonly<Record<string, string | undefined>>): AuthMethod {
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  const mountOf = (name: string, fallback: string) => (value(name) ?? fallback).replace(/^\/+|\/+$/g, '');
  const token = value('VAULT_TOKEN');
  if (token !== undefined) return { kind: 'token', token };
  const role = value('VAULT_K8S_ROLE');
  if (role !== undefined) {
    return { kind: 'kubernetes', role, mount: mountOf('VAULT_K8S_MOUNT', 'kubernetes'), jwtPath: value('VAULT_K8S_TOKEN_PATH') ?? DEFAULT_K8S_TOKEN_PATH };
  }
  const roleId = value('VAULT_ROLE_ID');
  const secretId = value('VAULT_SECRET_ID');
  if (roleId !== undefined && secretId !== undefined) {
    return { kind: 'approle', roleId, secretId, mount: mountOf('VAULT_APPROLE_MOUNT', 'approle') };
  }
  if (roleId !== undefined || secretId !== undefined) {
    throw new ConfigError(`AppRole login needs both VAULT_ROLE_ID and VAULT_SECRET_ID; ${roleId === undefined ? 'VAULT_ROLE_ID' : 'VAULT_SECRET_ID'} is not set`);
  }
  throw new ConfigError(
    'no Vault credentials: set VAULT_TOKEN, or VAULT_K8S_ROLE for Kubernetes auth (with the pod\'s service account token), or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole',
  );
}

export function describeAuth(auth: AuthMethod): string {
  switch (auth.kind) {
    case 'token':
      return 'the token in VAULT_TOKEN';
    case 'kubernetes':
      return `the token from Kubernetes login (auth/${auth.mount}, role "${auth.role}")`;
    case 'approle':
      return `the token from AppRole login (auth/${auth.mount})`;
  }
}

export function parseAddress(endpoint: string | undefined, vaultAddr: string | undefined): URL {
  const given = endpoint?.trim() || vaultAddr?.trim() || undefined;
  const source = endpoint?.trim() ? '--endpoint' : 'VAULT_ADDR';
  if (given === undefined) {
    throw new ConfigError('no Vault address: set VAULT_ADDR (e.g. https://vault.example.com:8200) or pass --endpoint');
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new ConfigError(`${source} ${given} is not a URL; give one such as https://vault.example.com:8200`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${source} must be an http:// or https:// URL, not ${url.protocol}//...`);
  }
  // Credentials in the URL would end up in messages and logs; Vault does not use them.
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/\/v1\/?$/, '').replace(/\/+$/, '') || '/';
  return url;
}

export function encodeMount(mount: string): string {
  return mount.split('/').map(encodeURIComponent).join('/');
}
