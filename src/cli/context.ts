/** The logger and retry policy every command runs with, from the logging and --timeout flags. */
import type { CommandContext } from '../core/context.js';
import { DURATION_BOUNDS, parseRequiredDuration } from '../core/duration-bounds.js';
import { DEFAULT_RETRY_POLICY } from '../core/retry.js';
import { createLogger, type LogLevel } from '../io/logger.js';
import { effectiveLogFormat } from './fatal-error.js';
import type { LogFlagValues } from './options/log-options.js';

export async function contextFrom(options: LogFlagValues & { readonly timeout: string }): Promise<CommandContext> {
  const logger = await createLogger({
    level: options.logLevel as LogLevel,
    pretty: effectiveLogFormat(options.logFormat, process.stderr.isTTY === true) === 'pretty',
  });
  return {
    logger,
    now: Date.now,
    retry: { ...DEFAULT_RETRY_POLICY, deadlineMs: parseRequiredDuration(options.timeout, DURATION_BOUNDS.timeout) },
  };
}
