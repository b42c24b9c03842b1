/** The flags that say where the credentials live and how to reach the store (fetch, run, sidecar, push, api-key). */
import { Option, type Command } from 'commander';
import type { ProviderOptions } from '../../core/config.js';
import { PROVIDER_NAMES } from '../../core/provider.js';

export interface StoreFlagValues extends ProviderOptions {
  readonly timeout: string;
}

export function withProviderOptions(command: Command): Command {
  return command
    .addOption(new Option('-p, --provider <name>', 'where the credentials live').choices(PROVIDER_NAMES).env('CLAUDE_CREDS_PROVIDER'))
    .addOption(
      new Option('-s, --secret <ref>', 'the secret, in the provider\'s form: file path, variable name, AWS name/ARN, GCP projects/P/secrets/S, Key Vault URL, Vault KV mount/path[#field], Kubernetes [namespace/]name[#key] (key default credentials.json)').env(
        'CLAUDE_CREDS_SECRET',
      ),
    )
    .addOption(new Option('--region <region>', 'AWS region (default: the SDK\'s chain, AWS_REGION)').env('CLAUDE_CREDS_REGION'))
    .addOption(new Option('--endpoint <url>', 'store endpoint override (LocalStack, emulators, private endpoints; kubernetes: the API server URL)').env('CLAUDE_CREDS_ENDPOINT'))
    .addOption(new Option('--project <id>', 'GCP project for a short secret name (default: GOOGLE_CLOUD_PROJECT)').env('CLAUDE_CREDS_PROJECT'))
    .addOption(new Option('--vault-url <url>', 'Azure Key Vault URL for a short secret name').env('CLAUDE_CREDS_VAULT_URL'))
    .addOption(new Option('--ca-file <path>', 'PEM certificate(s) to trust for the store endpoint (kubernetes: instead of the kubeconfig\'s or the pod\'s CA)').env('CLAUDE_CREDS_CA_FILE'))
    .addOption(new Option('--timeout <duration>', 'give up on the store after this long, retries included').env('CLAUDE_CREDS_TIMEOUT').default('60s'));
}
