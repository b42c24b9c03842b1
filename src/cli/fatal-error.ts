/**
 * The one line a failed run ends with, in the log format in effect: a JSON log pipeline must not lose
 * the line that matters, so with JSON logs it is one pino-shaped JSON line (level 60, time, pid,
 * hostname, name, msg, plus exitCode and errorType); on a terminal (pretty logs) it is
 * `claude-creds: message`. The format is known even before any logger exists: --log-format in argv
 * (before `--`), else CLAUDE_CREDS_LOG_FORMAT, else pretty when stderr is a terminal, as for the logs.
 */
import { hostname } from 'node:os';
import { CommanderError } from 'commander';
import type { Environment } from '../core/config.js';
import { EXIT, describeCause, isClaudeCredsError } from '../core/errors.js';
import { printable } from '../core/printable.js';

export type LogFormat = 'json' | 'pretty';

/** The logs' format from the --log-format value (flag or variable, as commander resolved it). */
export function effectiveLogFormat(logFormat: string | undefined, stderrIsTty: boolean): LogFormat {
  if (logFormat === 'json' || logFormat === 'pretty') return logFormat;
  return stderrIsTty ? 'pretty' : 'json';
}

/**
 * The same, guessed from the raw command line before it is parsed (a usage error comes before any
 * option value exists). Words after `--` belong to the wrapped command. A bad value counts as unset.
 */
export function logFormatBeforeParse(args: readonly string[], env: Environment, stderrIsTty: boolean): LogFormat {
  let named: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i] as string;
    if (word === '--') break;
    if (word === '--log-format') named = args[i + 1];
    else if (word.startsWith('--log-format=')) named = word.slice('--log-format='.length);
  }
  return effectiveLogFormat(named === 'json' || named === 'pretty' ? named : env.CLAUDE_CREDS_LOG_FORMAT, stderrIsTty);
}

export interface Fatal {
  readonly message: string;
  readonly exitCode: number;
  /** The error's class (UsageError, ConfigError, ...), for a pipeline to group by. */
  readonly errorType: string;
}

/** What to say for a thrown value: typed errors as they are, commander's usage errors reworded, anything else as internal. */
export function describeFatal(error: unknown, usageHint: string): Fatal {
  if (isClaudeCredsError(error)) return { message: error.message, exitCode: error.exitCode, errorType: error.name };
  if (error instanceof CommanderError) {
    // `error: unknown option '--x'\n(Did you mean --y?)` -> one line, with where to look.
    const text = error.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
    return { message: `${text}; ${usageHint}`, exitCode: EXIT.usage, errorType: 'UsageError' };
  }
  return { message: `unexpected error: ${describeCause(error)}`, exitCode: EXIT.software, errorType: error instanceof Error ? error.name : 'InternalError' };
}

/** The fatal line itself, newline included. Control characters in the message are escaped either way. */
export function formatFatal(fatal: Fatal, format: LogFormat, now: number = Date.now()): string {
  const msg = printable(fatal.message);
  if (format === 'pretty') return `claude-creds: ${msg}\n`;
  const line = { level: 60, time: now, pid: process.pid, hostname: hostname(), name: 'claude-creds', msg, exitCode: fatal.exitCode, errorType: fatal.errorType };
  return `${JSON.stringify(line)}\n`;
}
