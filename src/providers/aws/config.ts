/**
 * What the aws provider makes of its configuration: the secret (a name or an ARN), the region and the
 * endpoint. Pure: the environment comes from the ProviderConfig snapshot.
 */
import { ConfigError } from '../../core/errors.js';
import type { ProviderConfig } from '../../core/provider.js';

export const NO_REGION_HELP = 'no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or give the secret as an ARN';

export interface SecretArn {
  readonly region: string;
  readonly name: string;
}

export interface AwsTarget {
  /** The name or ARN, as given. */
  readonly secret: string;
  readonly arn: SecretArn | undefined;
  /** The region chosen from the configuration; undefined leaves it to the SDK's chain (the profile). */
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
}

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 chars>`. */
export function parseSecretArn(secret: string): SecretArn | undefined {
  const match = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:(.+)$/.exec(secret);
  if (!match) return undefined;
  const [, region = '', rest = ''] = match;
  // The six random characters AWS appends are not part of the name (a partial ARN lacks them).
  const name = /^(.+)-[A-Za-z0-9]{6}$/.exec(rest)?.[1] ?? rest;
  return { region, name };
}

export function resolveAwsTarget(config: ProviderConfig): AwsTarget {
  const secret = requireSecret(config.secret);
  const arn = parseSecretArn(secret);
  if (secret.startsWith('arn:') && arn === undefined) {
    throw new ConfigError(
      `--secret ${secret} is not a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); pass the ARN or the plain secret name`,
    );
  }
  if (arn !== undefined && config.region !== undefined && config.region !== arn.region) {
    throw new ConfigError(`--region ${config.region} does not match the region ${arn.region} of the secret ARN; drop --region or fix it`);
  }
  if (config.endpoint !== undefined && !URL.canParse(config.endpoint)) {
    throw new ConfigError(`--endpoint ${config.endpoint} is not a URL; give one such as http://localhost:4566`);
  }
  return { secret, arn, region: chooseRegion(config, arn), endpoint: config.endpoint };
}

/**
 * The flag, else the ARN's own region (requests must go there), else AWS_REGION, else
 * AWS_DEFAULT_REGION, in the aws CLI's order; the JavaScript SDK reads only AWS_REGION itself, so
 * users of the CLI who set AWS_DEFAULT_REGION alone would otherwise get "no AWS region". Unset: the
 * SDK's chain decides (the profile's region).
 */
function chooseRegion(config: ProviderConfig, arn: SecretArn | undefined): string | undefined {
  const fromEnv = (name: string): string | undefined => {
    const value = config.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return config.region ?? arn?.region ?? fromEnv('AWS_REGION') ?? fromEnv('AWS_DEFAULT_REGION');
}

function requireSecret(value: string | undefined): string {
  const secret = value?.trim();
  if (secret === undefined || secret === '') {
    throw new ConfigError('no AWS secret given: pass --secret with the name or ARN of the Secrets Manager secret');
  }
  return secret;
}
