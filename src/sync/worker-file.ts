/**
 * The worker's credentials file, as the sync engine sees it: read whole (so a wiped or damaged login still
 * gives up the worker's own top-level keys), and written only under the Claude CLI's storage lock after a
 * re-read, so a decision made on an older view never overwrites what the CLI wrote meanwhile. The refresh
 * locks are the caller's to hold (they must span the decision too).
 */
import { dirname } from 'node:path';
import type { Owner } from '../core/config.js';
import { parseCredentials, type Credentials } from '../core/credentials.js';
import { ConfigError, InvalidCredentialsError, NotFoundError, PermissionDeniedError } from '../core/errors.js';
import { ensureDirectory, writeFileAtomic } from '../io/atomic-write.js';
import { withStorageWriteLock } from '../io/claude-lock.js';
import { readRegularFile } from '../io/local-file.js';

export type LocalView =
  | { readonly kind: 'missing' }
  | {
      readonly kind: 'invalid';
      readonly reason: string;
      /** The CLI blanked its tokens after `invalid_grant`: the login it held is dead. */
      readonly wiped: boolean;
      readonly document: Readonly<Record<string, unknown>> | undefined;
    }
  | { readonly kind: 'valid'; readonly credentials: Credentials; readonly document: Readonly<Record<string, unknown>> };

/**
 * The worker's own document, whose other top-level keys (mcpOAuth...) a pull keeps: only when it is a
 * Claude credentials file at all (a login, or one the CLI wiped). Anything else is not the worker's to keep.
 */
export function documentOf(view: LocalView): Readonly<Record<string, unknown>> | undefined {
  if (view.kind === 'missing') return undefined;
  const oauth = view.document?.claudeAiOauth;
  return typeof oauth === 'object' && oauth !== null && !Array.isArray(oauth) ? view.document : undefined;
}

export function credentialsOf(view: LocalView): Credentials | undefined {
  return view.kind === 'valid' ? view.credentials : undefined;
}

/** A full copy: a login with its refresh token, which the CLI can refresh and the sync may push. */
export function isFullCopy(view: LocalView): view is Extract<LocalView, { kind: 'valid' }> {
  return view.kind === 'valid' && view.credentials.oauth.refreshToken !== '';
}

export class WorkerFile {
  constructor(
    readonly path: string,
    private readonly owner: Owner | undefined,
  ) {}

  get configDir(): string {
    return dirname(this.path);
  }

  async prepareDirectory(): Promise<void> {
    await ensureDirectory(this.configDir, 0o700, this.owner);
  }

  async read(): Promise<LocalView> {
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(this.path);
    } catch (error) {
      if (error instanceof NotFoundError) return { kind: 'missing' };
      // Not a regular file, or unreadable: no login to keep; writing there says what is in the way.
      if (error instanceof ConfigError || error instanceof PermissionDeniedError) return { kind: 'invalid', reason: error.message, wiped: false, document: undefined };
      throw error;
    }
    const document = parseObject(bytes);
    try {
      const credentials = parseCredentials(bytes, { requireRefreshToken: false });
      return { kind: 'valid', credentials, document: document ?? credentials.document };
    } catch (error) {
      if (!(error instanceof InvalidCredentialsError)) throw error;
      return { kind: 'invalid', reason: error.message, wiped: error.problem === 'blanked' || isWiped(document), document };
    }
  }

  /**
   * Re-reads the file under the CLI's storage lock and writes `decide(current)` when it returns text.
   * Returns what the file holds afterwards and whether this call wrote it.
   */
  async update(decide: (current: LocalView) => string | undefined): Promise<{ written: boolean; view: LocalView }> {
    await this.prepareDirectory();
    return withStorageWriteLock(this.configDir, async () => {
      const current = await this.read();
      const text = decide(current);
      if (text === undefined) return { written: false, view: current };
      await writeFileAtomic(this.path, text, { owner: this.owner });
      return { written: true, view: await this.read() };
    });
  }
}

function parseObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The CLI's wipe: both tokens blanked and `expiresAt` 0 (`claudeAiOauth` kept, maybe with `loginEnded`). */
function isWiped(document: Record<string, unknown> | undefined): boolean {
  const oauth = document?.claudeAiOauth;
  if (typeof oauth !== 'object' || oauth === null) return false;
  const record = oauth as Record<string, unknown>;
  return record.accessToken === '' && (record.refreshToken === '' || record.refreshToken === undefined);
}
