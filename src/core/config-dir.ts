/**
 * The Claude config directory, found as the Claude CLI finds it (`$CLAUDE_CONFIG_DIR`, else
 * `$HOME/.claude`), refusing the two setups where what claude-creds writes and what the CLI reads would
 * silently differ:
 *
 * - `HOME` empty (and no CLAUDE_CONFIG_DIR): the path became `/.claude`, written without a word.
 * - `CLAUDE_CONFIG_DIR` starting with a literal `~`: a shell expands `~` only at the start of a word,
 *   so `CLAUDE_CONFIG_DIR="~/cfg"` or a Compose/Kubernetes value keeps it. The Claude CLI does not
 *   expand it either: run with CLAUDE_CONFIG_DIR='~/cfg' (2.1.332, offline), it opened
 *   `~/cfg/.credentials.json` relative to its working directory and created `./~/cfg/`. Expanding it
 *   here would write where the CLI never looks, so it is refused with the absolute path to use.
 */
import { ConfigError } from './errors.js';
import type { Environment } from './config.js';

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** `$CLAUDE_CONFIG_DIR` when set and not empty, checked; undefined otherwise. */
export function configDirFromEnv(env: Environment, homedir: string): string | undefined {
  const configDir = env.CLAUDE_CONFIG_DIR;
  if (configDir === undefined || configDir === '') return undefined;
  if (configDir.startsWith('~')) {
    const expanded = configDir.startsWith('~/') && homedir !== '' ? ` (${joinPath(homedir, configDir.slice(2))}?)` : '';
    throw new ConfigError(
      `CLAUDE_CONFIG_DIR is "${configDir}": the ~ was not expanded by a shell, and the Claude CLI does not expand it either ` +
        `(it would use a directory named ~ under its working directory); set it to the absolute path${expanded}`,
    );
  }
  return configDir;
}

/** The home directory, refused when empty: `~/.claude` must not silently become `/.claude`. */
export function checkedHome(homedir: string): string {
  if (homedir === '') {
    throw new ConfigError('HOME is empty, so there is no ~/.claude to use (it would be /.claude): set CLAUDE_CONFIG_DIR or HOME, or give the file with --out');
  }
  return homedir;
}
