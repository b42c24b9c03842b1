/**
 * The one place where a command's outcome becomes the process's exit code: every typed error is one line
 * on stderr with its documented code; anything else is an internal error (70).
 */
import { homedir } from 'node:os';
import { CommanderError } from 'commander';
import { EXIT, describeCause, isClaudeCredsError } from '../core/errors.js';
import { printable } from '../core/printable.js';
import { buildProgram } from './program.js';
import { captureEnvironment } from './runtime.js';

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
  if (isClaudeCredsError(error)) {
    process.stderr.write(`claude-creds: ${printable(error.message)}\n`);
    return error.exitCode;
  }
  process.stderr.write(`claude-creds: unexpected error: ${printable(describeCause(error))}\n`);
  return EXIT.software;
}

export async function main(argv: readonly string[]): Promise<void> {
  // An SDK that rejects a promise nobody awaits must still end in one line and an exit code.
  process.on('unhandledRejection', (reason) => {
    process.exitCode = reportError(reason);
  });
  // `claude-creds status | head` closes stdout early: that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const program = buildProgram({ env: captureEnvironment(), homedir: homedir(), run: runTask });
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      const clean = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      process.exitCode = clean ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = reportError(error);
  }
}
