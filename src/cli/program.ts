/** Assembles the claude-creds command line from the command modules; each owns its flags, help and examples. */
import { Command } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { addApiKeyCommand } from './commands/api-key.js';
import { addCompletionCommand } from './commands/completion.js';
import { addFetchCommand } from './commands/fetch.js';
import { addPushCommand } from './commands/push.js';
import { addRunCommand } from './commands/run.js';
import { addSidecarCommand } from './commands/sidecar.js';
import { addStatusCommand } from './commands/status.js';
import { TOP_LEVEL_HELP, configureHelpLayout } from './help.js';
import type { CliRuntime } from './runtime.js';

export function buildProgram(runtime: CliRuntime): Command {
  const program = configureHelpLayout(new Command('claude-creds'))
    .description('Deliver Claude Code OAuth credentials to headless containers from a secret store, and keep them fresh.')
    .version(packageJson.version, '-V, --version')
    .enablePositionalOptions()
    // Commander's own usage errors (unknown option, missing value) are thrown, not printed: the one
    // catch in main.ts reports them like every other error, in the log format, with where to look.
    .configureOutput({ outputError: () => undefined })
    .exitOverride()
    .addHelpText('after', TOP_LEVEL_HELP);
  addFetchCommand(program, runtime);
  addRunCommand(program, runtime);
  addSidecarCommand(program, runtime);
  addStatusCommand(program, runtime);
  addApiKeyCommand(program, runtime);
  addPushCommand(program, runtime);
  addCompletionCommand(program);
  // `fetch --version` printed "unknown option (did you mean --region?)": every command knows the version.
  for (const command of program.commands) command.version(packageJson.version, '-V, --version', 'print the version of claude-creds');
  return program;
}
