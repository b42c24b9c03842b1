/** `claude-creds fetch`: the init container's job. Owns its flags, help text and examples. */
import type { Command } from 'commander';
import { fetchCredentials } from '../../commands/fetch.js';
import { seedOnboardingIfAsked } from '../../commands/onboarding.js';
import { EXIT } from '../../core/errors.js';
import { contextFrom } from '../context.js';
import { describeLocalWrite, dryRunReport, kindNote } from '../dry-run.js';
import { withKindOption } from '../options/kind-options.js';
import { withLocalFileOptions } from '../options/local-file-options.js';
import { withLogOptions, type LogFlagValues } from '../options/log-options.js';
import { withProviderOptions } from '../options/provider-options.js';
import type { CliRuntime } from '../runtime.js';
import { fetchSettingsFrom, onboardingFrom, type FetchFlagValues } from '../settings.js';

const EXAMPLES = `
Examples:
  $ claude-creds fetch --provider aws --secret claude-oauth-credentials
  $ claude-creds fetch --provider gcp --secret projects/my-proj/secrets/claude-credentials
  $ claude-creds fetch --provider azure --secret https://my-vault.vault.azure.net/secrets/claude-credentials
  $ CLAUDE_CREDENTIALS_B64="$(base64 -w0 ~/.claude/.credentials.json)" claude-creds fetch
  $ claude-creds fetch --provider file --secret /mnt/efs/claude/credentials.json --owner 1000:1000`;

export function addFetchCommand(program: Command, runtime: CliRuntime): void {
  withKindOption(withLogOptions(withLocalFileOptions(withProviderOptions(program.command('fetch')))), true)
    .description('read the credentials from the store, validate them and write the local file (init container)')
    .addHelpText('after', EXAMPLES)
    .action((options: FetchFlagValues & LogFlagValues) =>
      runtime.run(async () => {
        const context = await contextFrom(options);
        const settings = fetchSettingsFrom(options, runtime);
        if (options.dryRun) return dryRunReport(`fetch${kindNote(settings.kind)} and ${describeLocalWrite(settings, options)}`, settings.provider);
        const delivered = await fetchCredentials(settings, context);
        if (typeof delivered === 'object' && delivered.kind === 'oauth-token') {
          context.logger.warn(
            { infoPath: delivered.infoPath },
            'kind oauth-token: the setup token is not written anywhere; `claude-creds [options] -- COMMAND` hands it to the command through a file descriptor' +
              (options.seedOnboarding ? '' : ' (add --seed-onboarding so a headless CLI skips the onboarding wizard)'),
          );
        }
        await seedOnboardingIfAsked(onboardingFrom(options, runtime), context);
        return EXIT.ok;
      }),
    );
}
