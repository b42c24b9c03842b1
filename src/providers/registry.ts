/**
 * Maps a provider name to its module, imported only when chosen so that start-up never pays for the
 * SDKs of providers that are not used.
 */
import { DependencyError } from '../core/errors.js';
import type { Provider, ProviderConfig, ProviderFactory, ProviderName } from '../core/provider.js';

const loaders: Record<ProviderName, () => Promise<ProviderFactory>> = {
  env: async () => (await import('./env/index.js')).createEnvProvider,
  file: async () => (await import('./file/index.js')).createFileProvider,
  aws: async () => (await import('./aws/index.js')).createAwsProvider,
  gcp: async () => (await import('./gcp/index.js')).createGcpProvider,
  azure: async () => (await import('./azure/index.js')).createAzureProvider,
  vault: async () => (await import('./vault/index.js')).createVaultProvider,
  kubernetes: async () => (await import('./kubernetes/index.js')).createKubernetesProvider,
};

export async function createProvider(config: ProviderConfig): Promise<Provider> {
  let factory: ProviderFactory;
  try {
    factory = await loaders[config.name]();
  } catch (error) {
    throw new DependencyError(
      `could not load the ${config.name} provider (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); reinstall claude-creds or use an image that includes it`,
      { cause: error },
    );
  }
  return factory(config);
}
