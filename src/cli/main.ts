/**
 * The one place where a command's outcome becomes the process's exit code: every typed error is one line
 * on stderr, in the log format, with its documented code; anything else is an internal error (70).
 */
import { homedir } from 'node:os';
import { CommanderError } from 'commander';
import { EXIT } from '../core/errors.js';
import { checkCommandLine } from './command-line.js';
import { describeFatal, effectiveLogFormat, formatFatal, logFormatBeforeParse, type LogFormat } from './fatal-error.js';
import { buildProgram } from './program.js';
import { captureEnvironment } from './runtime.js';

const stderrIsTty = (): boolean => process.stderr.isTTY === true;

/** Where the fatal line goes and how it looks: known from argv at once, exact once the options are parsed. */
let fatalFormat: LogFormat = 'json';
let usageHint = 'see claude-creds --help';

/** Runs one command's task and turns its result or error into the process exit code. */
function runTask(task: () => Promise<number>): Promise<void> {
  return task().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError(error);
    },
  );
}

function reportError(error: unknown): number {
  const fatal = describeFatal(error, usageHint);
  process.stderr.write(formatFatal(fatal, fatalFormat));
  return fatal.exitCode;
}

export async function main(argv: readonly string[]): Promise<void> {
  const args = argv.slice(2);
  const env = captureEnvironment();
  fatalFormat = logFormatBeforeParse(args, env, stderrIsTty());
  // An SDK that rejects a promise nobody awaits must still end in one line and an exit code.
  process.on('unhandledRejection', (reason) => {
    process.exitCode = reportError(reason);
  });
  // `claude-creds status | head` closes stdout early: that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const program = buildProgram({ env, homedir: homedir(), run: runTask });
  const named = program.commands.find((command) => command.name() === args[0]);
  usageHint = `see claude-creds ${named?.name() ?? 'run'} --help`;
  program.hook('preAction', (_program, action) => {
    fatalFormat = effectiveLogFormat(action.opts<{ logFormat?: string }>().logFormat, stderrIsTty());
  });
  try {
    checkCommandLine(program, args);
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError && ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)) {
      process.exitCode = EXIT.ok;
      return;
    }
    process.exitCode = reportError(error);
  }
}
