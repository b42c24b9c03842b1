/**
 * The re-decision after a conflict on a store without compare-and-swap (`detect-conflict`: GCP, Azure
 * Key Vault). There, a ConflictError may come after our write landed: below another writer's version,
 * or on top of one that landed between our check and our write. Re-reading only `latest` would then
 * find one of the two and miss the other, so a fresher login could stay buried under an older one. So
 * the decision is taken again over every version written since the one we read: when one of them holds
 * a fresher login than the latest, it is written again on top.
 *
 * One function for push and the sync engine, and the one place that applies the freshness rule to it.
 */
import type { CommandContext } from '../core/context.js';
import { parseCredentials, type Credentials } from '../core/credentials.js';
import { freshestIndex } from '../core/freshness.js';
import { ConflictError, InvalidCredentialsError, PermissionDeniedError } from '../core/errors.js';
import type { Provider, StoredPayload } from '../core/provider.js';
import { withRetry } from '../core/retry.js';
import { writeStore } from './store-access.js';

export interface ConflictResolution {
  /** The version written on top to bring the freshest login back, when one had to be. */
  readonly promoted: string | undefined;
}

/** Each round re-reads every version since the one read: another writer may land during the re-write too. */
const MAX_ROUNDS = 5;

/**
 * `sinceVersion`: the version the conflicting write was decided on (undefined when the secret did not
 * exist). A no-op for stores that do not detect conflicts after the fact (compare-and-swap ones never
 * let a losing write land).
 */
export async function resolveConflict(provider: Provider, sinceVersion: string | undefined, context: CommandContext): Promise<ConflictResolution> {
  const readSince = provider.readSince?.bind(provider);
  if (provider.writes !== 'detect-conflict' || readSince === undefined) return { promoted: undefined };
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    let versions: StoredPayload[];
    try {
      versions = await withRetry(
        `reading the versions of ${provider.location} written since ${sinceVersion ?? 'it was created'}`,
        (attempt) => readSince(sinceVersion, { signal: attempt.signal, timeoutMs: attempt.timeoutMs }),
        context.retry,
        { onRetry: ({ attempt, delayMs, error }) => context.logger.warn({ attempt, delayMs, reason: error.message }, 'store read failed; retrying') },
      );
    } catch (error) {
      // Without the permission to list versions (Key Vault's "list"), decide on the latest alone, as before.
      if (!(error instanceof PermissionDeniedError)) throw error;
      context.logger.warn({ reason: error.message }, 'cannot read the versions written since ours; deciding on the latest version only');
      return { promoted: undefined };
    }
    const latest = versions.at(-1);
    const latestLogin = latest === undefined ? undefined : credentialsOf(latest);
    // A latest version that is not a login is the read path's to report, not this one's to bury.
    if (latest === undefined || latestLogin === undefined) return { promoted: undefined };
    // The fleet's freshness rule (core/freshness.ts): store generation, then the login's end, then expiry.
    // The latest wins ties: only a strictly fresher version below it is brought back.
    const candidates: Array<{ stored: StoredPayload; login: Credentials }> = [{ stored: latest, login: latestLogin }];
    for (const stored of versions.slice(0, -1)) {
      const login = credentialsOf(stored);
      if (login !== undefined) candidates.push({ stored, login });
    }
    const freshest = candidates[freshestIndex(candidates.map((candidate) => candidate.login))] ?? candidates[0];
    if (freshest === undefined || freshest.stored === latest) return { promoted: undefined };

    context.logger.warn(
      {
        buried: freshest.stored.version,
        latest: latest.version,
        expiresAt: new Date(freshest.login.oauth.expiresAt).toISOString(),
        latestExpiresAt: new Date(latestLogin.oauth.expiresAt).toISOString(),
      },
      'a concurrent write left an older login on top of a fresher one; writing the fresher one on top again',
    );
    try {
      const outcome = await writeStore(provider, textOf(freshest.stored.payload), latest.version, context);
      return { promoted: outcome.version };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      context.logger.info({ round }, 'another writer changed the store while re-deciding; re-reading');
    }
  }
  throw new ConflictError(`${provider.location} kept changing while deciding which login belongs on top (${MAX_ROUNDS} rounds); will try again`);
}

function credentialsOf(stored: StoredPayload): Credentials | undefined {
  try {
    return parseCredentials(stored.payload);
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return undefined;
    throw error;
  }
}

/** The version's payload exactly as stored (JSON or base64 text), to be stored again. */
function textOf(payload: string | Uint8Array): string {
  return typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
}
