/** The flags about the local credentials file claude-creds writes (fetch, run, sidecar). */
import { Option, type Command } from 'commander';
import { HELP_GROUP } from '../help.js';

export interface LocalFileFlagValues {
  readonly out?: string;
  readonly owner?: string;
  readonly force?: boolean;
  readonly keepExisting?: boolean;
  readonly seedOnboarding?: boolean;
}

export function withLocalFileOptions(command: Command): Command {
  return command
    .addOption(new Option('-o, --out <path>', 'credentials file to write (default: $CLAUDE_CONFIG_DIR/.credentials.json or ~/.claude/.credentials.json)').env('CLAUDE_CREDS_OUT').helpGroup(HELP_GROUP.output))
    .addOption(new Option('--owner <uid:gid>', 'chown the file and its directory (numeric; needs root)').env('CLAUDE_CREDS_OWNER').helpGroup(HELP_GROUP.output))
    .addOption(new Option('--force', 'replace the local file even when it is newer than the store').env('CLAUDE_CREDS_FORCE').helpGroup(HELP_GROUP.output))
    .addOption(new Option('--keep-existing', 'when the store is unreachable, keep a valid, unexpired local file and exit 0').env('CLAUDE_CREDS_KEEP_EXISTING').helpGroup(HELP_GROUP.output))
    .addOption(new Option('--seed-onboarding', 'create .claude.json with hasCompletedOnboarding when missing (headless CLIs)').env('CLAUDE_CREDS_SEED_ONBOARDING').helpGroup(HELP_GROUP.output));
}
