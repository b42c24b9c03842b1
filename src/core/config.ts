/**
 * Turns the CLI's raw option strings and a snapshot of the environment into checked configuration.
 * Pure: the CLI hands in argv-derived options, `env` and the home directory; nothing here reads them.
 */
import { checkedHome, configDirFromEnv, joinPath } from './config-dir.js';
import { ConfigError, UsageError } from './errors.js';
import { PROVIDER_NAMES, type ProviderConfig, type ProviderName } from './provider.js';

export type Environment = Readonly<Record<string, string | undefined>>;

/** The variables the env provider reads when `--secret` names none, in order of preference. */
export const DEFAULT_SECRET_VARIABLES = ['CLAUDE_CREDENTIALS_B64', 'CLAUDE_CREDENTIALS_JSON'] as const;

export const CREDENTIALS_FILE_NAME = '.credentials.json';

export interface ProviderOptions {
  readonly provider?: string | undefined;
  readonly secret?: string | undefined;
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly project?: string | undefined;
  readonly vaultUrl?: string | undefined;
  readonly caFile?: string | undefined;
  /** `--gcp-keep-versions`: a number of versions, or `off`. */
  readonly gcpKeepVersions?: string | undefined;
}

export interface ProviderChoice {
  readonly config: ProviderConfig;
  /** Why this provider was chosen, for the log. */
  readonly reason: string;
}

/** `$CLAUDE_CONFIG_DIR/.credentials.json`, else `$HOME/.claude/.credentials.json`. */
export function defaultCredentialsPath(env: Environment, homedir: string): string {
  const configDir = configDirFromEnv(env, homedir);
  if (configDir !== undefined) return joinPath(configDir, CREDENTIALS_FILE_NAME);
  return joinPath(joinPath(checkedHome(homedir), '.claude'), CREDENTIALS_FILE_NAME);
}

/** `.claude.json`: inside `$CLAUDE_CONFIG_DIR` when set, else beside `~/.claude` in the home directory. */
export function onboardingPath(env: Environment, homedir: string): string {
  const configDir = configDirFromEnv(env, homedir);
  if (configDir !== undefined) return joinPath(configDir, '.claude.json');
  return joinPath(checkedHome(homedir), '.claude.json');
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** `UID:GID` or `UID` (group = uid), numeric: names would need the image's /etc/passwd. */
export function parseOwner(text: string, flag = '--owner'): Owner {
  const match = /^(\d+)(?::(\d+))?$/.exec(text.trim());
  if (!match?.[1]) {
    throw new UsageError(`${flag} takes numeric UID:GID such as 1000:1000, not "${text}"`);
  }
  const uid = Number(match[1]);
  return { uid, gid: match[2] === undefined ? uid : Number(match[2]) };
}

/** `--gcp-keep-versions`: a whole number (the provider checks its range) or `off`; unset = the provider's default. */
export function parseKeepVersions(text: string | undefined): number | 'off' | undefined {
  const value = text?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (value === 'off') return 'off';
  if (/^\d+$/.test(value)) return Number(value);
  throw new UsageError(`--gcp-keep-versions takes a number of versions to keep or off, not "${text}"`);
}

function isProviderName(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}

/** Pick the provider: the one named, else one inferred from the secret's form or the environment. */
export function chooseProvider(options: ProviderOptions, env: Environment): ProviderChoice {
  const named = options.provider?.trim().toLowerCase();
  const build = (name: ProviderName, reason: string): ProviderChoice => ({
    reason,
    config: {
      name,
      secret: options.secret === '' ? undefined : options.secret,
      region: options.region,
      endpoint: options.endpoint,
      project: options.project,
      vaultUrl: options.vaultUrl,
      caFile: options.caFile,
      env,
      gcpKeepVersions: parseKeepVersions(options.gcpKeepVersions),
    },
  });
  if (named !== undefined && named !== '') {
    if (!isProviderName(named)) {
      throw new UsageError(`unknown provider "${options.provider}"; choose one of: ${PROVIDER_NAMES.join(', ')}`);
    }
    return build(named, '--provider');
  }
  const secret = options.secret ?? '';
  if (secret.startsWith('arn:aws:secretsmanager:')) return build('aws', 'the secret is an AWS Secrets Manager ARN');
  if (/^projects\/[^/]+\/secrets\/[^/]+/.test(secret)) return build('gcp', 'the secret is a GCP resource path');
  if (/^https:\/\/[^/]+\/secrets\/[^/]+/.test(secret)) return build('azure', 'the secret is an Azure Key Vault URL');
  if (secret.startsWith('/') || secret.startsWith('./') || secret.startsWith('../')) {
    return build('file', 'the secret is a file path');
  }
  if (options.vaultUrl) return build('azure', '--vault-url is set');
  if (env.VAULT_ADDR && /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.@=+-]+)+(#[^#/]+)?$/.test(secret)) {
    return build('vault', 'VAULT_ADDR is set and the secret is a KV path');
  }
  if (secret !== '' && /^[A-Z_][A-Z0-9_]*$/.test(secret) && env[secret] !== undefined) {
    return build('env', `the environment variable ${secret} is set`);
  }
  const variable = DEFAULT_SECRET_VARIABLES.find((name) => env[name] !== undefined);
  if (variable !== undefined && secret === '') return build('env', `${variable} is set`);
  throw new ConfigError(
    `no credentials provider chosen: pass --provider (${PROVIDER_NAMES.join(', ')}) with --secret, ` +
      'or set CLAUDE_CREDENTIALS_B64 / CLAUDE_CREDENTIALS_JSON, or give --secret as a path, an AWS ARN, ' +
      'a projects/P/secrets/S path, a Key Vault URL, or a Vault KV path (mount/path) with VAULT_ADDR set',
  );
}

/**
 * Vault credentials that open the store itself: a worker (an agent running arbitrary code) holding them
 * could read or overwrite the team's login. A worker that needs Vault for its own work gets its own token.
 */
export const VAULT_SECRET_VARIABLES = ['VAULT_TOKEN', 'VAULT_SECRET_ID', 'VAULT_ROLE_ID'] as const;

/**
 * Per provider, the variables that carry (or point at) the identity claude-creds opens the store with:
 * the worker must not inherit them, or it could read the whole login (refresh token included) from the
 * store, or overwrite it. Region, address, project and the like are not credentials and stay. A worker
 * that needs the same cloud for its own work gets its own identity (see the README's threat model).
 */
export const STORE_CREDENTIAL_VARIABLES: Readonly<Record<ProviderName, readonly string[]>> = {
  env: [],
  file: [],
  aws: [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_SECURITY_TOKEN',
    'AWS_CREDENTIAL_EXPIRATION',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
    'AWS_ROLE_SESSION_NAME',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    'AWS_PROFILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_CONFIG_FILE',
  ],
  gcp: ['GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE', 'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE'],
  azure: [
    'AZURE_CLIENT_SECRET',
    'AZURE_CLIENT_CERTIFICATE_PATH',
    'AZURE_CLIENT_CERTIFICATE_PASSWORD',
    'AZURE_FEDERATED_TOKEN_FILE',
    'AZURE_USERNAME',
    'AZURE_PASSWORD',
    'IDENTITY_ENDPOINT',
    'IDENTITY_HEADER',
    'MSI_ENDPOINT',
    'MSI_SECRET',
  ],
  vault: VAULT_SECRET_VARIABLES,
  // The kubeconfig holds tokens or client keys; the in-cluster token is a file (see the threat model).
  kubernetes: ['KUBECONFIG', 'CLAUDE_CREDS_KUBERNETES_SA_DIR'],
};

/**
 * The environment variables that may carry a secret or open the store, and so must never reach the
 * wrapped command: the env provider's defaults, whatever variable `--secret` named for it, and the
 * chosen provider's store credentials.
 */
export function secretVariables(provider: ProviderConfig | undefined): string[] {
  const names = new Set<string>(DEFAULT_SECRET_VARIABLES);
  if (provider?.name === 'env' && provider.secret) names.add(provider.secret);
  if (provider !== undefined) for (const name of STORE_CREDENTIAL_VARIABLES[provider.name]) names.add(name);
  return [...names];
}
