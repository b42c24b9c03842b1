/**
 * What shell completion needs to know, read from the commander definitions themselves (so a new flag
 * or choice completes without anyone touching the scripts): the commands, each one's options, which
 * options take a value, and the choices of those that have them.
 */
import type { Command, Option } from 'commander';

export interface CompletionOption {
  /** `--provider`, `-p`: every spelling. */
  readonly names: readonly string[];
  readonly description: string;
  /** Undefined for a switch; the metavar (`path`, `duration`) for an option that takes a value. */
  readonly value: string | undefined;
  readonly choices: readonly string[] | undefined;
}

export interface CompletionCommand {
  readonly name: string;
  readonly description: string;
  readonly options: readonly CompletionOption[];
  /** Choices of the first argument (completion's shell), when it has some. */
  readonly argumentChoices: readonly string[] | undefined;
  /** `run`: its words after the options are a program and its arguments. */
  readonly wrapsCommand: boolean;
}

export interface CompletionModel {
  readonly program: string;
  readonly commands: readonly CompletionCommand[];
  /** The program's own options (--help, --version); the default command's apply before `--` too. */
  readonly programOptions: readonly CompletionOption[];
  /** The command whose options apply when the first word is an option: `run`, the default command. */
  readonly defaultCommand: string;
}

function optionOf(option: Option): CompletionOption {
  const names = [option.long, option.short].filter((name): name is string => name !== undefined);
  const metavar = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1];
  return {
    names,
    description: option.description,
    value: option.required || option.optional ? (metavar ?? 'value') : undefined,
    choices: option.argChoices === undefined ? undefined : [...option.argChoices],
  };
}

/** Help and version, which commander adds itself, are part of every command. */
function builtinOptions(command: Command): CompletionOption[] {
  const help: CompletionOption = { names: ['--help', '-h'], description: 'display help for the command', value: undefined, choices: undefined };
  const has = (name: string) => command.options.some((option) => option.long === name);
  return has('--help') ? [] : [help];
}

export function completionModel(program: Command): CompletionModel {
  const commands: CompletionCommand[] = program.commands.map((command) => ({
    name: command.name(),
    description: command.description(),
    options: [...command.options.map(optionOf), ...builtinOptions(command)],
    argumentChoices: command.registeredArguments[0]?.argChoices,
    wrapsCommand: command.name() === 'run',
  }));
  const names = commands.map((command) => command.name);
  const help: CompletionCommand = { name: 'help', description: 'display help for a command', options: [], argumentChoices: names, wrapsCommand: false };
  return {
    program: program.name(),
    commands: [...commands, help],
    programOptions: [...program.options.map(optionOf), ...builtinOptions(program)],
    defaultCommand: 'run',
  };
}
