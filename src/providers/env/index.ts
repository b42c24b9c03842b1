/**
 * Credentials from an environment variable: base64 of the file (CLAUDE_CREDENTIALS_B64, as the seeds
 * ship it) or the raw JSON (CLAUDE_CREDENTIALS_JSON), or the variable `--secret` names. Read-only.
 */
import { DEFAULT_SECRET_VARIABLES } from '../../core/config.js';
import { NotFoundError, ReadOnlyProviderError } from '../../core/errors.js';
import type { Provider, ProviderConfig, StoredPayload } from '../../core/provider.js';

export async function createEnvProvider(config: ProviderConfig): Promise<Provider> {
  const variable = config.secret ?? DEFAULT_SECRET_VARIABLES.find((name) => config.env[name] !== undefined);
  const location = variable ?? DEFAULT_SECRET_VARIABLES.join(' or ');
  const provider = {
    name: 'env',
    location: `environment variable ${location}`,
    writes: 'none',
    async read(): Promise<StoredPayload> {
      const value = variable === undefined ? undefined : config.env[variable];
      if (value === undefined) {
        throw new NotFoundError(`environment variable ${location} is not set; set it to the base64 or JSON of .credentials.json`);
      }
      return { payload: value, version: undefined };
    },
    async write(): Promise<never> {
      throw new ReadOnlyProviderError(
        'the env provider is read-only: an environment variable cannot be written back, so refreshed tokens would be lost; ' +
          'use --provider file, aws, gcp or azure to keep them',
      );
    },
  } satisfies Provider;
  return provider;
}
