/**
 * How --help reads: options in groups (the command's own first, then provider, output, kind, sync,
 * health, logging), as gh and kubectl do, instead of 60 lines in one list; and the top-level help
 * that says how to wrap a command, how the environment sets every flag, the exit codes and where the
 * documentation is. The option groups are set where the options are defined (src/cli/options/*).
 */
import type { Command, Help, Option } from 'commander';

export const HELP_GROUP = {
  command: 'Options:',
  provider: 'Provider options (where the credentials live):',
  output: 'Output options (the local credentials file):',
  kind: 'Credential kind options:',
  sync: 'Sync options (sidecar, run --sync):',
  health: 'Health options:',
  logging: 'Logging options:',
} as const;

const GROUP_ORDER: readonly string[] = Object.values(HELP_GROUP);

/** `--pull-interval` -> `CLAUDE_CREDS_PULL_INTERVAL`: the variable every flag has unless it says otherwise. */
export function conventionalVariable(option: Option): string | undefined {
  return option.long === undefined ? undefined : `CLAUDE_CREDS_${option.long.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/**
 * One line per option where it fits: choices as `a|b`, the default as it would be typed, and the
 * variable only when it is not the conventional CLAUDE_CREDS_<FLAG> (the top-level help states the
 * convention once).
 */
function optionDescription(option: Option): string {
  const extra: string[] = [];
  if (option.argChoices) extra.push(option.argChoices.join('|'));
  if (option.defaultValue !== undefined && (option.required || option.optional)) {
    extra.push(`default ${option.defaultValueDescription ?? String(option.defaultValue)}`);
  }
  if (option.envVar !== undefined && option.envVar !== conventionalVariable(option)) extra.push(`env ${option.envVar}`);
  return extra.length === 0 ? option.description : `${option.description} [${extra.join('; ')}]`;
}

/** Commander's grouping, with the groups in a fixed order whatever order the options were added in. */
function groupItems<T>(this: Help, unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of visible) {
    const group = getGroup(item);
    groups.set(group, [...(groups.get(group) ?? []), item]);
  }
  void unsorted;
  const rank = (group: string): number => (GROUP_ORDER.includes(group) ? GROUP_ORDER.indexOf(group) : GROUP_ORDER.length);
  return new Map([...groups].sort(([a], [b]) => rank(a) - rank(b)));
}

/** Before any subcommand is added: they inherit the help settings of the program. */
export function configureHelpLayout(program: Command): Command {
  return program.configureHelp({ optionDescription, groupItems: groupItems as Help['groupItems'] });
}

/** The top-level help's end: the wrapper form, the environment, exit codes, the documentation. */
export const TOP_LEVEL_HELP = `
Run a program with the credentials in place (the wrapper; the image's entrypoint):
  claude-creds [options] -- COMMAND [ARGS...]     the same as: claude-creds run [options] -- COMMAND
  A first word that is not a command above is refused: a program to run goes after --.

Environment:
  Every option can be set by a variable named CLAUDE_CREDS_ and the option in capitals:
  --provider by CLAUDE_CREDS_PROVIDER, --pull-interval by CLAUDE_CREDS_PULL_INTERVAL (each command's
  --help names the few that differ). CLAUDE_CREDENTIALS_B64 or CLAUDE_CREDENTIALS_JSON hold a login
  for the env provider; CLAUDE_CONFIG_DIR moves the credentials file, as it does for the Claude CLI.
  Durations are written 500ms, 30s, 5m, 1h30m, 2d; "off" where a flag may be turned off.

Exit codes:
  0      success (run: the command's own code)
  64     usage: a bad flag or value, an unknown command
  65     the credentials payload is invalid
  66     the secret, variable or file does not exist
  69     the store stayed unavailable until --timeout, or a provider's SDK could not be loaded
  70     internal error (a bug: please report it)
  73     the local file could not be written
  75     the store holds newer credentials, or a concurrent writer kept winning
  77     permission denied by the store
  78     configuration: no provider chosen, a missing region or project, HOME empty...
  126    run: the command cannot be executed
  127    run: the command was not found
  128+N  run: the command was killed by signal N
  status: 0 valid, 1 expiring, 2 expired, 3 invalid, 4 missing.

Examples:
  $ claude-creds fetch --provider aws --secret claude-oauth-credentials
  $ claude-creds --provider aws --secret claude-oauth-credentials -- python worker.py
  $ claude-creds status
Shell completion: source <(claude-creds completion bash), or claude-creds completion zsh.

Documentation: the README of the claude-creds package (README.md in its source and npm package), and
claude-creds COMMAND --help for each command.`;
