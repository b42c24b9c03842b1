/**
 * What the gcp provider makes of its configuration: the secret (a resource path or a bare name with a
 * project), the endpoint, and how many versions to keep. Pure: the environment comes from the
 * ProviderConfig snapshot.
 */
import { ConfigError } from '../../core/errors.js';
import type { ProviderConfig } from '../../core/provider.js';
import type { Endpoint } from './client.js';

export interface SecretRef {
  readonly project: string;
  readonly secretId: string;
  /** `projects/P/secrets/S` */
  readonly secret: string;
  /** A version pinned in --secret (`.../versions/N`), read-only. */
  readonly pinned: string | undefined;
}

/**
 * Versions kept after each write when nothing is configured: every push and every refresh lease adds
 * one, and Secret Manager bills each version that is not destroyed. Ten cover the last few refreshes,
 * so a recent login stays at hand (gcloud secrets versions access N) while the count stays bounded.
 */
export const DEFAULT_KEEP_VERSIONS = 10;
export const MAX_KEEP_VERSIONS = 1000;

/** `undefined` = the default; `'off'` = keep every version. */
export function keepVersions(value: ProviderConfig['gcpKeepVersions']): number | 'off' {
  if (value === undefined) return DEFAULT_KEEP_VERSIONS;
  if (value === 'off') return 'off';
  if (!Number.isInteger(value) || value < 1 || value > MAX_KEEP_VERSIONS) {
    throw new ConfigError(`--gcp-keep-versions ${String(value)}: give a whole number from 1 to ${MAX_KEEP_VERSIONS}, or off`);
  }
  return value;
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const RESOURCE = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/;

export function resolveSecret(config: ProviderConfig): SecretRef {
  const raw = config.secret?.trim() ?? '';
  const project = config.project?.trim() || config.env.GOOGLE_CLOUD_PROJECT?.trim() || undefined;
  if (raw === '') {
    throw new ConfigError(
      'no secret given for the gcp provider: pass --secret projects/PROJECT/secrets/NAME, or --secret NAME with --project PROJECT (or GOOGLE_CLOUD_PROJECT)',
    );
  }
  const match = RESOURCE.exec(raw);
  if (match) {
    const [, fromPath = '', secretId = '', version] = match;
    if (!SECRET_ID.test(secretId)) throw new ConfigError(`"${secretId}" in --secret is not a valid GCP secret name (letters, digits, - and _)`);
    if (version !== undefined && version !== 'latest' && !/^[1-9]\d*$/.test(version)) {
      throw new ConfigError(`--secret ${raw}: the version must be a number or "latest"`);
    }
    if (config.project !== undefined && config.project.trim() !== '' && config.project.trim() !== fromPath) {
      throw new ConfigError(`--secret names project ${fromPath} but --project is ${config.project.trim()}; drop one of them`);
    }
    return {
      project: fromPath,
      secretId,
      secret: `projects/${fromPath}/secrets/${secretId}`,
      pinned: version === undefined || version === 'latest' ? undefined : version,
    };
  }
  if (raw.includes('/')) {
    throw new ConfigError(
      `--secret ${raw} is not a GCP secret: use projects/PROJECT/secrets/NAME[/versions/N] or a bare NAME (regional secrets, projects/P/locations/L/..., are not supported)`,
    );
  }
  if (!SECRET_ID.test(raw)) throw new ConfigError(`"${raw}" is not a valid GCP secret name (letters, digits, - and _, at most 255)`);
  if (project === undefined) {
    throw new ConfigError(
      `no GCP project for secret ${raw}: pass --project PROJECT or set GOOGLE_CLOUD_PROJECT, or give --secret projects/PROJECT/secrets/${raw}`,
    );
  }
  return { project, secretId: raw, secret: `projects/${project}/secrets/${raw}`, pinned: undefined };
}

/** `host:port` or `https://host:port` (TLS + ADC), `http://host:port` (plaintext emulator, no credentials). */
export function parseEndpoint(value: string | undefined): Endpoint | undefined {
  const raw = value?.trim();
  if (raw === undefined || raw === '') return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`--endpoint ${raw} is not host:port or http(s)://host:port`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(`--endpoint ${raw} is not host:port or http(s)://host:port`);
  }
  const insecure = url.protocol === 'http:';
  const port = url.port === '' ? (insecure ? 80 : 443) : Number(url.port);
  return { host: url.hostname, port, insecure };
}
