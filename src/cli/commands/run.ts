/** `claude-creds [run] [options] -- COMMAND`: the entrypoint wrapper. Owns its flags, help text and examples. */
import { Option, type Command } from 'commander';
import { runWrapped } from '../../commands/run.js';
import { parseOwner, secretVariables } from '../../core/config.js';
import { UsageError } from '../../core/errors.js';
import { contextFrom } from '../context.js';
import { describeLocalWrite, describeSync, dryRunReport, kindNote } from '../dry-run.js';
import { withKindOption } from '../options/kind-options.js';
import { withLocalFileOptions } from '../options/local-file-options.js';
import { withLogOptions, type LogFlagValues } from '../options/log-options.js';
import { withProviderOptions } from '../options/provider-options.js';
import { withSyncOptions, type SyncFlagValues } from '../options/sync-options.js';
import type { CliRuntime } from '../runtime.js';
import { fetchSettingsFrom, onboardingFrom, syncSettingsFrom, type FetchFlagValues } from '../settings.js';

const EXAMPLES = `
Examples:
  $ claude-creds -- python worker.py
  $ claude-creds run --provider aws --secret claude-oauth-credentials -- claude -p "hello"
  $ docker run -e CLAUDE_CREDENTIALS_B64 IMAGE -- python worker.py
  $ docker run --user 0 -e CLAUDE_CREDENTIALS_B64 IMAGE --user 1000:1000 -- python worker.py`;

type RunFlagValues = FetchFlagValues & SyncFlagValues & LogFlagValues & { readonly sync?: boolean; readonly tokenVia?: string; readonly user?: string };

export function addRunCommand(program: Command, runtime: CliRuntime): void {
  withKindOption(withSyncOptions(withLogOptions(withLocalFileOptions(withProviderOptions(program.command('run', { isDefault: true }))))), true)
    .description('fetch, then run COMMAND with the same stdio, forwarding signals and exiting with its status')
    .usage('[options] [--] COMMAND [ARGS...]')
    .argument('[command...]', 'the command to run, after --')
    .addOption(new Option('--sync', 'keep syncing beside the command, as the sidecar does (push refreshed tokens, pull newer ones)').env('CLAUDE_CREDS_SYNC'))
    .addOption(
      new Option('--token-via <how>', 'kind oauth-token: hand the token over by fd (CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR) or env (CLAUDE_CODE_OAUTH_TOKEN, less safe: the whole process tree sees it)')
        .choices(['fd', 'env'])
        .env('CLAUDE_CREDS_TOKEN_VIA')
        .default('fd'),
    )
    .addOption(
      new Option('--user <uid:gid>', 'as root: run COMMAND as this numeric uid:gid with no supplementary groups, so it cannot read claude-creds\' environment; the file is theirs too (implies --owner)').env(
        'CLAUDE_CREDS_USER',
      ),
    )
    .passThroughOptions()
    .addHelpText('after', EXAMPLES)
    .action((commandLine: string[], options: RunFlagValues, self: Command) =>
      runtime.run(async () => {
        const [command, ...args] = commandLine;
        if (command === undefined) throw new UsageError('no command to run: use `claude-creds [options] -- COMMAND [ARGS...]`, or `claude-creds fetch`');
        const context = await contextFrom(options);
        const user = options.user === undefined ? undefined : parseOwner(options.user, '--user');
        // --user implies --owner: the file is delivered to the user the command runs as.
        const fetched = fetchSettingsFrom(options, runtime);
        const fetch = { ...fetched, owner: fetched.owner ?? user };
        if (options.sync && fetch.kind !== undefined && fetch.kind !== 'oauth') {
          throw new UsageError(`--sync keeps a .credentials.json login (kind oauth) in step with the store; it does not apply to --kind ${fetch.kind}`);
        }
        const synced = options.sync ? await syncSettingsFrom(options, runtime) : undefined;
        const sync = synced === undefined ? undefined : { ...synced, owner: synced.owner ?? user };
        if (options.dryRun) {
          const syncing = sync === undefined ? '' : `, keep syncing (${describeSync(sync)})`;
          const argCount = args.length === 1 ? '1 argument' : `${args.length} arguments`;
          const asUser = user === undefined ? '' : ` as ${user.uid}:${user.gid}`;
          return dryRunReport(`fetch${kindNote(fetch.kind)} and ${describeLocalWrite(fetch, options)}${syncing}, then run "${command}" with ${argCount}${asUser}`, fetch.provider);
        }
        if (user !== undefined && process.getuid?.() !== 0) {
          throw new UsageError(`--user ${user.uid}:${user.gid} needs claude-creds to run as root (it is uid ${process.getuid?.() ?? 'unknown'}): start the container as root (docker run --user 0) and let --user drop to the worker`);
        }
        const onboarding = onboardingFrom(options, runtime);
        return runWrapped(
          {
            command,
            args,
            fetch,
            sync,
            onboarding: onboarding === undefined ? undefined : { ...onboarding, owner: onboarding.owner ?? user },
            env: runtime.env,
            secretVariables: secretVariables(fetch.provider.config),
            tokenVia: options.tokenVia === 'env' ? 'env' : 'fd',
            // --log-level or CLAUDE_CREDS_LOG_LEVEL given: every step, as asked. Otherwise quiet.
            verbose: self.getOptionValueSource('logLevel') !== 'default',
            user,
          },
          context,
        );
      }),
    );
}
