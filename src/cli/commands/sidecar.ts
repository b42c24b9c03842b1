/** `claude-creds sidecar`: stay up beside the worker. Owns its flags, help text and examples. */
import type { Command } from 'commander';
import { seedOnboardingIfAsked } from '../../commands/onboarding.js';
import { EXIT } from '../../core/errors.js';
import { contextFrom } from '../context.js';
import { describeLocalWrite, describeSync, dryRunReport } from '../dry-run.js';
import { withLocalFileOptions } from '../options/local-file-options.js';
import { withLogOptions, type LogFlagValues } from '../options/log-options.js';
import { withProviderOptions } from '../options/provider-options.js';
import { withSyncOptions, type SyncFlagValues } from '../options/sync-options.js';
import type { CliRuntime } from '../runtime.js';
import { onboardingFrom, syncSettingsFrom, type FetchFlagValues } from '../settings.js';

const EXAMPLES = `
Examples:
  $ claude-creds sidecar --provider aws --secret claude-oauth-credentials --health-port 8080
  $ claude-creds sidecar --secret projects/p/secrets/claude --refresh-before 30m --worker-copy access-only
  $ claude-creds sidecar --provider kubernetes --secret claude/claude-credentials --refresh-before 30m --worker-copy access-only --health-port 8080
  $ claude-creds run --sync --provider file --secret /mnt/efs/claude/credentials.json -- python worker.py`;

/** Resolves on the first SIGTERM or SIGINT: the sidecar's cue to flush and leave. */
function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const once = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', once);
      process.off('SIGINT', once);
      resolve(signal);
    };
    process.on('SIGTERM', once);
    process.on('SIGINT', once);
  });
}

export function addSidecarCommand(program: Command, runtime: CliRuntime): void {
  withSyncOptions(withLogOptions(withLocalFileOptions(withProviderOptions(program.command('sidecar')))))
    .description('stay up beside the worker: push tokens the CLI refreshed, pull newer ones, optionally refresh for everyone, serve health')
    .addHelpText('after', EXAMPLES)
    .action((options: FetchFlagValues & SyncFlagValues & LogFlagValues) =>
      runtime.run(async () => {
        const context = await contextFrom(options);
        const settings = await syncSettingsFrom(options, runtime);
        if (options.dryRun) {
          return dryRunReport(`keep ${describeLocalWrite(settings, options).replace(/^write /, '')} in step with the store (${describeSync(settings)})`, settings.provider);
        }
        const { startSync } = await import('../../commands/sync.js');
        const sync = await startSync(settings, context);
        await seedOnboardingIfAsked(onboardingFrom(options, runtime), context);
        const signal = await shutdownSignal();
        context.logger.info({ signal }, 'shutting down: pushing anything newer first');
        await sync.stop();
        return EXIT.ok;
      }),
    );
}
