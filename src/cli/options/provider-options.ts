/** The flags that say where the credentials live and how to reach the store (fetch, run, sidecar, push, api-key). */
import { Option, type Command } from 'commander';
import type { ProviderOptions } from '../../core/config.js';
import { PROVIDER_NAMES } from '../../core/provider.js';
import { HELP_GROUP } from '../help.js';

export interface StoreFlagValues extends ProviderOptions {
  readonly timeout: string;
}

export function withProviderOptions(command: Command): Command {
  return command
    .addOption(new Option('-p, --provider <name>', 'where the credentials live').choices(PROVIDER_NAMES).env('CLAUDE_CREDS_PROVIDER').helpGroup(HELP_GROUP.provider))
    .addOption(
      new Option('-s, --secret <ref>', 'the secret, in the provider\'s form: file path, variable name, AWS name/ARN, GCP projects/P/secrets/S, Key Vault URL, Vault KV mount/path[#field], Kubernetes [namespace/]name[#key] (key default credentials.json)').env(
        'CLAUDE_CREDS_SECRET',
      ).helpGroup(HELP_GROUP.provider),
    )
    .addOption(new Option('--region <region>', 'AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the profile\'s)').env('CLAUDE_CREDS_REGION').helpGroup(HELP_GROUP.provider))
    .addOption(new Option('--endpoint <url>', 'store endpoint override (LocalStack, emulators, private endpoints; kubernetes: the API server URL)').env('CLAUDE_CREDS_ENDPOINT').helpGroup(HELP_GROUP.provider))
    .addOption(new Option('--project <id>', 'GCP project for a short secret name (default: GOOGLE_CLOUD_PROJECT)').env('CLAUDE_CREDS_PROJECT').helpGroup(HELP_GROUP.provider))
    .addOption(new Option('--vault-url <url>', 'Azure Key Vault URL for a short secret name').env('CLAUDE_CREDS_VAULT_URL').helpGroup(HELP_GROUP.provider))
    .addOption(
      new Option('--gcp-keep-versions <n|off>', 'gcp: after each write, destroy the versions older than the newest n (default 10); off keeps them all')
        .env('CLAUDE_CREDS_GCP_KEEP_VERSIONS')
        .helpGroup(HELP_GROUP.provider),
    )
    .addOption(new Option('--ca-file <path>', 'PEM certificate(s) to trust for the store endpoint (kubernetes: instead of the kubeconfig\'s or the pod\'s CA)').env('CLAUDE_CREDS_CA_FILE').helpGroup(HELP_GROUP.provider))
    .addOption(new Option('--timeout <duration>', 'give up on the store after this long, retries included').env('CLAUDE_CREDS_TIMEOUT').default('60s').helpGroup(HELP_GROUP.provider));
}
