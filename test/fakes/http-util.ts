import type { IncomingMessage, ServerResponse } from 'node:http';

/** The first value of a request header. */
export function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The whole request body as text. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const FILL_CHUNK = Buffer.alloc(64 * 1024, 'A');

/**
 * Answers `prefix`, then `fillBytes` bytes of the letter A, then `suffix`, with a Content-Length for the
 * whole: a well-formed JSON answer whose value is huge, when `prefix` opens a string and `suffix` closes
 * it. Streamed chunk by chunk with backpressure, so the fake never holds the answer in memory, and
 * abandoned as soon as the client goes away.
 */
export async function streamOversizeAnswer(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  parts: { prefix: string; fillBytes: number; suffix: string },
  /** Told how many bytes went out once the answer ended or the client went away. */
  onSent?: (bytes: number) => void,
): Promise<void> {
  const prefix = Buffer.from(parts.prefix);
  const suffix = Buffer.from(parts.suffix);
  response.on('error', () => undefined); // the client hanging up mid-answer is the expected outcome
  response.writeHead(status, { ...headers, 'content-length': String(prefix.length + parts.fillBytes + suffix.length) });
  const gone = (): boolean => response.destroyed || response.writableEnded;
  let sent = 0;
  const write = async (chunk: Buffer): Promise<void> => {
    if (gone()) return;
    sent += chunk.length;
    if (response.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        response.off('drain', done);
        response.off('close', done);
        resolve();
      };
      response.once('drain', done);
      response.once('close', done);
    });
  };
  await write(prefix);
  for (let left = parts.fillBytes; left > 0 && !gone(); left -= FILL_CHUNK.length) {
    await write(left >= FILL_CHUNK.length ? FILL_CHUNK : FILL_CHUNK.subarray(0, left));
  }
  await write(suffix);
  if (!gone()) response.end();
  onSent?.(sent);
}

/**
 * A success cut off on the way. `framed`: headers that promise all of `body` (its Content-Length), the
 * first half of it, then the connection closes. Unframed: no Content-Length (a body that ends when the
 * connection does, as HTTP/1.1 allows with `Connection: close`), so the client can only tell from what
 * it got that something is missing.
 */
export function sendTruncated(response: ServerResponse, status: number, headers: Record<string, string>, body: string, framed = true): void {
  const bytes = Buffer.from(body);
  const half = bytes.subarray(0, Math.floor(bytes.length / 2));
  response.on('error', () => undefined);
  if (framed) {
    response.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
    response.write(half, () => setTimeout(() => response.socket?.destroy(), 20));
    return;
  }
  // Node's server would frame the body (chunked), so this answer is written on the socket directly.
  const socket = response.socket;
  if (socket === null) return;
  const head = [`HTTP/1.1 ${status} OK`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), 'connection: close', '', ''].join('\r\n');
  socket.write(Buffer.concat([Buffer.from(head), half]), () => socket.end());
}
