/** `claude-creds push`: the bootstrap after `claude login`. Owns its flags, help text and examples. */
import { Option, type Command } from 'commander';
import { pushCredentials } from '../../commands/push.js';
import { chooseProvider, defaultCredentialsPath } from '../../core/config.js';
import { EXIT } from '../../core/errors.js';
import { contextFrom } from '../context.js';
import { dryRunReport } from '../dry-run.js';
import { withLogOptions, type LogFlagValues } from '../options/log-options.js';
import { withProviderOptions, type StoreFlagValues } from '../options/provider-options.js';
import type { CliRuntime } from '../runtime.js';

const EXAMPLES = `
Examples (once, after \`claude login\` on a machine with a browser):
  $ claude-creds push --provider aws --secret claude-oauth-credentials
  $ claude-creds push --provider kubernetes --secret claude/claude-credentials
  $ claude-creds push --provider file --secret /mnt/efs/claude/credentials.json --from ~/.claude/.credentials.json`;

type PushFlagValues = StoreFlagValues & LogFlagValues & { readonly from?: string; readonly force?: boolean };

export function addPushCommand(program: Command, runtime: CliRuntime): void {
  withLogOptions(withProviderOptions(program.command('push')))
    .description('validate the local credentials file and store it (the bootstrap after `claude login`)')
    .addOption(new Option('--from <path>', 'credentials file to store (default as for fetch --out)').env('CLAUDE_CREDS_FROM'))
    .addOption(new Option('--force', 'store even when the store holds newer credentials'))
    .addHelpText('after', EXAMPLES)
    .action((options: PushFlagValues) =>
      runtime.run(async () => {
        const context = await contextFrom(options);
        const settings = {
          provider: chooseProvider(options, runtime.env),
          from: options.from ?? defaultCredentialsPath(runtime.env, runtime.homedir),
          force: options.force === true,
        };
        if (options.dryRun) return dryRunReport(`store ${settings.from}${settings.force ? ' (--force)' : ''}`, settings.provider);
        await pushCredentials(settings, context);
        return EXIT.ok;
      }),
    );
}
