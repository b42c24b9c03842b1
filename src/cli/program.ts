/** Assembles the claude-creds command line from the command modules; each owns its flags, help and examples. */
import { Command } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { addApiKeyCommand } from './commands/api-key.js';
import { addFetchCommand } from './commands/fetch.js';
import { addPushCommand } from './commands/push.js';
import { addRunCommand } from './commands/run.js';
import { addSidecarCommand } from './commands/sidecar.js';
import { addStatusCommand } from './commands/status.js';
import type { CliRuntime } from './runtime.js';

export function buildProgram(runtime: CliRuntime): Command {
  const program = new Command('claude-creds')
    .description('Deliver Claude Code OAuth credentials to headless containers from a secret store, and keep them fresh.')
    .version(packageJson.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();
  addFetchCommand(program, runtime);
  addRunCommand(program, runtime);
  addSidecarCommand(program, runtime);
  addStatusCommand(program, runtime);
  addApiKeyCommand(program, runtime);
  addPushCommand(program, runtime);
  return program;
}
