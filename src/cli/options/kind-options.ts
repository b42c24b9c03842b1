/** `--kind` (fetch, run, status, api-key); with `deliver`, the flags of the api-key delivery too. */
import { Option, type Command } from 'commander';
import { CREDENTIAL_KINDS } from '../../core/credential-kind.js';
import { HELP_GROUP } from '../help.js';

export interface KindFlagValues {
  readonly kind?: string;
  readonly helperCommand?: string;
}

export function withKindOption(command: Command, deliver: boolean): Command {
  command.addOption(
    new Option('--kind <kind>', 'what the secret holds: oauth (.credentials.json), api-key, oauth-token (claude setup-token); default: detected from its content')
      .choices(CREDENTIAL_KINDS)
      .env('CLAUDE_CREDS_KIND').helpGroup(HELP_GROUP.kind),
  );
  if (!deliver) return command;
  return command.addOption(
    new Option('--helper-command <command>', 'kind api-key: the apiKeyHelper command to put in settings.json (default: this claude-creds\'s `api-key` with the same store flags)').env(
      'CLAUDE_CREDS_HELPER_COMMAND',
    ).helpGroup(HELP_GROUP.kind),
  );
}
