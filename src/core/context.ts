// A type only: the core never loads the logger, the CLI hands one in.
import type { Logger } from 'pino';
import type { RetryPolicy } from './retry.js';

/** What every command gets from the CLI besides its own settings. */
export interface CommandContext {
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly now: () => number;
}
