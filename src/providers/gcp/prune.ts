/**
 * Keeping the version count of a secret bounded: every push and every refresh lease adds a version, and
 * Secret Manager keeps them all. After a write, the versions older than the newest `keep` are destroyed.
 *
 * Destroyed rather than disabled: Secret Manager bills every version that is not destroyed, disabled
 * ones included, so only destroying bounds the count and the bill; and an old version holds superseded
 * tokens that have no business lingering. The recovery path stays the store's own: with delayed
 * destruction set on the secret (`--version-destroy-ttl`), GCP disables such a version and destroys it
 * only when the TTL ends, and it can be re-enabled until then.
 */
import type { GcpCall, SecretManagerPort } from './client.js';
import type { SecretRef } from './config.js';
import { grpcCode } from './errors.js';
import { versionNumber } from './payload.js';

/** Destroys per write at most: a backlog of thousands is worked off over a few writes, not in one. */
export const MAX_DESTROYED_PER_WRITE = 25;
const NOT_DESTROYED = 'state:ENABLED OR state:DISABLED';
const FAILED_PRECONDITION = 9;

/**
 * Destroys the versions of `ref` numbered `newest - keep` or lower (never `newest` nor anything written
 * after it, whoever wrote it). Returns how many it destroyed. Raw SDK errors propagate; the caller maps them.
 */
export async function pruneOldVersions(
  port: SecretManagerPort,
  ref: SecretRef,
  newest: number,
  keep: number,
  call: () => GcpCall,
): Promise<number> {
  const cutoff = newest - keep;
  if (cutoff < 1) return 0;
  const doomed: string[] = [];
  let pageToken = '';
  do {
    // Newest first: the first page holds the versions kept, and then the oldest ones to go.
    const page = await port.listVersions(ref.secret, NOT_DESTROYED, pageToken, call());
    for (const version of page.versions) {
      const number = Number(versionNumber(version.name));
      if (Number.isSafeInteger(number) && number <= cutoff && version.state !== 'DESTROYED' && !version.destroyScheduled) doomed.push(version.name);
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== '' && doomed.length < MAX_DESTROYED_PER_WRITE);

  let destroyed = 0;
  for (const name of doomed.slice(0, MAX_DESTROYED_PER_WRITE)) {
    try {
      await port.destroyVersion(name, call());
      destroyed += 1;
    } catch (error) {
      // Another writer destroyed it first.
      if (grpcCode(error) !== FAILED_PRECONDITION) throw error;
    }
  }
  return destroyed;
}
