/**
 * What commander would misread, refused before it dispatches. `run` is the default command, so without
 * this check any word that is not a command name became the worker: `claude-creds fecth` fetched and
 * then ran `fecth` (127), `claude-creds echo hi` ran echo. Only these run a command:
 *
 *   claude-creds -- CMD ...
 *   claude-creds [options] -- CMD ...
 *   claude-creds run [options] [--] CMD ...
 *
 * Anything else whose first word is not a command is an unknown command (exit 64, with the closest
 * names and the `--` form). Which options take a value comes from commander's own Option objects, so
 * `claude-creds --provider aws -- python` is read as it will be parsed.
 */
import type { Command, Option } from 'commander';
import { didYouMean } from '../core/did-you-mean.js';
import { UsageError } from '../core/errors.js';

/** Options that end the check: commander prints help or the version for them wherever they stand. */
const ANSWERED_BY_COMMANDER = new Set(['-h', '--help', '-V', '--version']);

export function commandNames(program: Command): string[] {
  return [...program.commands.map((command) => command.name()), 'help'];
}

function findOption(commands: readonly Command[], word: string): Option | undefined {
  const flag = word.includes('=') ? word.slice(0, word.indexOf('=')) : word;
  for (const command of commands) {
    const found = command.options.find((option) => option.long === flag || option.short === flag);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Whether `word` (an option as written) consumes the next word as its value. */
function consumesNext(option: Option, word: string, next: string | undefined): boolean {
  if (!option.required && !option.optional) return false;
  if (word.includes('=')) return false;
  // `-paws`: a short option with its value attached.
  if (option.short !== undefined && word.startsWith(option.short) && word.length > option.short.length && !word.startsWith('--')) return false;
  if (option.optional) return next !== undefined && !next.startsWith('-');
  return true;
}

/** Throws a UsageError for a command line that names no known command and does not use `--`. */
export function checkCommandLine(program: Command, args: readonly string[]): void {
  const names = commandNames(program);
  const wrapper = program.commands.find((command) => command.name() === 'run');
  // Options before the first word go to the default command (run), or are the program's own.
  const scope = wrapper === undefined ? [program] : [wrapper, program];
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i] as string;
    if (word === '--') return;
    if (word.startsWith('-') && word !== '-') {
      if (ANSWERED_BY_COMMANDER.has(word)) return;
      const option = findOption(scope, word);
      // An unknown option: commander names it, which is the better message.
      if (option === undefined) return;
      if (consumesNext(option, word, args[i + 1])) i += 1;
      continue;
    }
    if (i === 0 && names.includes(word)) {
      if (word === 'help') checkHelpTopic(args[1], names);
      return;
    }
    if (names.includes(word)) {
      throw new UsageError(`the command '${word}' goes first, before its options: claude-creds ${word} [options]; to run a program called ${word}, put it after --`);
    }
    throw new UsageError(
      `unknown command '${word}'${didYouMean(word, names)}; to run a program, put it after --: claude-creds [options] -- ${word} ... (or claude-creds run ${word} ...)`,
    );
  }
}

/** `help bogus` is an unknown command too, not the top-level help with exit 0. */
function checkHelpTopic(topic: string | undefined, names: readonly string[]): void {
  if (topic === undefined || topic.startsWith('-') || names.includes(topic)) return;
  throw new UsageError(`unknown command '${topic}'${didYouMean(topic, names)}; see claude-creds --help for the commands`);
}
