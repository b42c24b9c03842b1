/**
 * Every store answer is read with a bound: a hostile or broken store that sends 100 MB must cost a few
 * MB, not 100 MB and the copies a JSON parser makes. The bound sits where each client reads the bytes
 * (a stream counted chunk by chunk), so nothing past it is ever held in memory.
 *
 * Also the one place that tells a cut-off answer (the connection closed before the body was whole) from
 * a wrong one: cut off is the store being unavailable, worth another try.
 */
import { MAX_PAYLOAD_BYTES } from '../core/credentials.js';
import { InvalidCredentialsError, describeCause } from '../core/errors.js';

/**
 * The most a store answer may hold. A payload of the largest size the core accepts (1 MiB) arrives
 * inside JSON framing: as a JSON string (AWS SecretString, Key Vault value, Vault field), where escaping
 * at most doubles it (a quote or a backslash becomes two bytes; a JSON text holds no raw control
 * characters), or as base64 (AWS SecretBinary, 4/3). Twice the payload limit plus 64 KiB for the
 * envelope (ids, names, metadata) lets every payload the core would accept through, and anything larger
 * is refused without reading on.
 */
export const MAX_STORE_ANSWER_BYTES = 2 * MAX_PAYLOAD_BYTES + 64 * 1024;

/** Raised inside a client when an answer passes the bound; each provider maps it with `answerTooLarge`. */
export class AnswerTooLargeError extends Error {
  readonly code = 'EANSWERTOOLARGE';
  constructor(readonly limit: number) {
    super(`the answer is larger than ${limit} bytes`);
    this.name = 'AnswerTooLargeError';
  }
}

/** Raised inside a client when an answer broke off before it was whole. */
export class AnswerTruncatedError extends Error {
  readonly code = 'EANSWERTRUNCATED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AnswerTruncatedError';
  }
}

/** The typed error for an answer over the bound: exit 65, as for a payload over the core's limit. */
export function answerTooLarge(where: string, limit = MAX_STORE_ANSWER_BYTES): InvalidCredentialsError {
  return new InvalidCredentialsError(
    'too-large',
    `${where} answered with more than ${limit} bytes, larger than any credentials payload (the limit is ${MAX_PAYLOAD_BYTES} bytes); it was refused without reading the rest`,
  );
}

/** The first error of type `type` in `error`'s cause chain (SDKs wrap what a lower layer threw). */
export function findCause<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth += 1) {
    if (current instanceof type) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

interface ByteStream {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners?(event?: string): unknown;
  destroy?(error?: Error): unknown;
}

/**
 * Reads `stream` to its end, but never more than `limit` bytes: past that it is destroyed (which closes
 * the connection) and the promise rejects with AnswerTooLargeError. A stream that fails, closes early, or
 * ends short of the `declared` Content-Length rejects with AnswerTruncatedError.
 */
export function readBounded(stream: ByteStream, limit: number, declared: number | undefined): Promise<Buffer> {
  if (declared !== undefined && declared > limit) {
    stream.destroy?.();
    return Promise.reject(new AnswerTooLargeError(limit));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    stream.on('data', (chunk) => {
      if (settled) return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (size > limit) {
        settle(() => reject(new AnswerTooLargeError(limit)));
        stream.destroy?.();
        return;
      }
      chunks.push(bytes);
    });
    stream.on('end', () =>
      settle(() => {
        if (declared !== undefined && size !== declared) {
          reject(new AnswerTruncatedError(`the answer ended after ${size} of the ${declared} bytes it announced`));
        } else {
          resolve(Buffer.concat(chunks, size));
        }
      }),
    );
    stream.on('error', (error) =>
      settle(() => reject(new AnswerTruncatedError(`the answer broke off after ${size} bytes (${describeCause(error)})`, { cause: error }))),
    );
    stream.on('close', () => settle(() => reject(new AnswerTruncatedError(`the connection closed after ${size} bytes of the answer`))));
  });
}

/** A Content-Length header's value as a number, or undefined when absent or not a number. */
export function declaredLength(value: string | readonly string[] | number | undefined | null): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === null || text === '') return undefined;
  const length = Number(text);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Whether `text`, which should be JSON, stops before its document does: what a body without a
 * Content-Length looks like when the connection closed early. JSON that is wrong in the middle is not
 * cut off; it stays the client's own parse error.
 */
export function endsBeforeJsonDoes(text: string): boolean {
  const trimmed = text.trimEnd();
  if (trimmed === '') return true;
  try {
    JSON.parse(trimmed);
    return false;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/end of JSON input|Unterminated string/i.test(message)) return true;
    const position = /position (\d+)/.exec(message)?.[1];
    return position !== undefined && Number(position) >= trimmed.length;
  }
}

/** Counts the requests a provider sends to its store, for the store-calls metric. */
export class RequestCounter {
  private sent = 0;
  add(): void {
    this.sent += 1;
  }
  get value(): number {
    return this.sent;
  }
}
