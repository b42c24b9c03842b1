import type { Logger } from '../io/logger.js';
import type { RetryPolicy } from './retry.js';

/** What every command gets from the CLI besides its own settings. */
export interface CommandContext {
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly now: () => number;
}
