/**
 * pino on stderr (stdout belongs to the wrapped command and to `status`): JSON by default, pretty when
 * stderr is a terminal. Token-bearing keys are redacted as a second line of defence; the first is that
 * no code logs a credentials object or payload at all.
 */
import pino, { type Logger } from 'pino';
import { commonJsExports } from './commonjs-exports.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const REDACTED_KEYS = ['accessToken', 'refreshToken', 'access_token', 'refresh_token', 'claudeAiOauth', 'payload', 'token', 'secretString'];

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly pretty: boolean;
}

export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const settings = {
    name: 'claude-creds',
    level: options.level,
    base: { pid: process.pid },
    redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`)], censor: '[redacted]' },
  };
  if (options.pretty) {
    // Loaded only for a terminal: containers log JSON and never pay for it.
    const { PinoPretty: pretty } = commonJsExports(await import('pino-pretty'), 'PinoPretty');
    return pino(settings, pretty({ destination: 2, sync: true, ignore: 'pid,hostname,name' }));
  }
  return pino(settings, pino.destination({ dest: 2, sync: true }));
}
