/**
 * Reads a credentials file from disk: only a regular file (following links, as a Kubernetes secret
 * mount needs), at most one byte over the payload limit so a huge or endless file cannot exhaust memory.
 */
import { constants } from 'node:fs';
import { open } from './immediate-fs.js';
import { MAX_PAYLOAD_BYTES } from '../core/credentials.js';
import { ConfigError, NotFoundError, PermissionDeniedError, describeCause } from '../core/errors.js';

export async function readRegularFile(path: string): Promise<Buffer> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO must not hang waiting for a writer; we refuse it below.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new NotFoundError(`${path} does not exist`);
    if (code === 'EACCES') throw new PermissionDeniedError(`no permission to read ${path}; check its owner and mode`);
    throw new ConfigError(`cannot open ${path}: ${describeCause(error)}`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ConfigError(`${path} is not a regular file; refusing to read it as credentials`);
    const limit = MAX_PAYLOAD_BYTES + 1;
    const buffer = Buffer.alloc(Math.min(limit, Math.max(stats.size, 0) + 1));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${path}: ${describeCause(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
}
