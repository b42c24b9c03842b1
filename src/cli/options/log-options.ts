/** Logging flags and --dry-run, which every command takes. */
import { Option, type Command } from 'commander';
import { LOG_LEVELS } from '../../io/logger.js';
import { HELP_GROUP } from '../help.js';

export interface LogFlagValues {
  readonly logLevel: string;
  readonly logFormat?: string;
  readonly dryRun?: boolean;
}

export function withLogOptions(command: Command): Command {
  return command
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('CLAUDE_CREDS_LOG_LEVEL').default('info').helpGroup(HELP_GROUP.logging))
    .addOption(new Option('--log-format <format>', 'json, or pretty (default when stderr is a terminal)').choices(['json', 'pretty']).env('CLAUDE_CREDS_LOG_FORMAT').helpGroup(HELP_GROUP.logging))
    // Every command takes log options, so --dry-run rides along here: one flag, the same on all of them.
    .addOption(
      new Option('--dry-run', 'check every flag and setting as a real run would, print what would be done, exit 0: no store call, no file written, no command started').env(
        'CLAUDE_CREDS_DRY_RUN',
      ),
    );
}
