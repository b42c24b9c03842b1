/**
 * Credentials in a file: an NFS/EFS share, a Kubernetes secret volume, a Docker secret. Reads follow
 * links (secret mounts are links); writes are atomic and compare-and-swap under a lock directory beside
 * the file, so one shared mount can serve as the store for several machines.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { commonJsExports } from '../../io/commonjs-exports.js';
import { ConfigError, ConflictError, NotFoundError, StoreUnavailableError, WriteError, describeCause } from '../../core/errors.js';
import { ensureDirectory, writeFileAtomic } from '../../io/atomic-write.js';
import { readRegularFile } from '../../io/local-file.js';
import type { Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';

/** A version marker that changes whenever the content does. */
export function contentVersion(content: Uint8Array | string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 24);
}

const LOCK_STALE_MS = 10_000;

export async function createFileProvider(config: ProviderConfig): Promise<Provider> {
  const path = config.secret;
  if (path === undefined || path === '') {
    throw new ConfigError('the file provider needs --secret PATH (the shared credentials file, e.g. /mnt/efs/claude/credentials.json)');
  }

  async function readCurrent(): Promise<StoredPayload | undefined> {
    try {
      const payload = await readRegularFile(path as string);
      return { payload, version: contentVersion(payload) };
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  const provider = {
    name: 'file',
    location: path,
    writes: 'compare-and-swap',
    async read(): Promise<StoredPayload> {
      const current = await readCurrent();
      if (!current) throw new NotFoundError(`credentials file ${path} does not exist; run \`claude-creds push --provider file --secret ${path}\` once after \`claude login\``);
      return current;
    },
    async write(request: WriteRequest): Promise<WriteOutcome> {
      await ensureDirectory(dirname(path));
      let release: () => Promise<void>;
      try {
        // Loaded on the first write only: a fetch from a file store never pays for it.
        const lockfile = commonJsExports(await import('proper-lockfile'), 'lock');
        release = await lockfile.lock(dirname(path), {
          lockfilePath: `${path}.lock`,
          stale: LOCK_STALE_MS,
          retries: { retries: 20, minTimeout: 25, maxTimeout: 250 },
          realpath: false,
        });
      } catch (error) {
        // Only contention is worth waiting for; anything else (permissions, a bug) must surface at once.
        if ((error as { code?: unknown }).code === 'ELOCKED') {
          throw new StoreUnavailableError(`${path}.lock is held by another writer: ${describeCause(error)}`, { cause: error });
        }
        throw new WriteError(`cannot lock ${path}.lock: ${describeCause(error)}`, { cause: error });
      }
      try {
        const current = await readCurrent();
        if (current?.version !== request.expectedVersion) {
          throw new ConflictError(`${path} changed since it was read; re-reading`);
        }
        await writeFileAtomic(path, request.payload, { fileMode: 0o600 });
        return { version: contentVersion(request.payload) };
      } finally {
        await release().catch(() => undefined);
      }
    },
  } satisfies Provider;
  return provider;
}
