/** The payload checks of the gcp provider: CRC32C both ways, and version numbers from resource names. */
import CRC32C from 'crc-32/crc32c.js';
import { IntegrityError } from '../../core/errors.js';
import type { AccessedVersion } from './client.js';


export function crc32c(data: Uint8Array): number {
  // crc-32 returns a signed 32-bit int; the API's int64 carries the unsigned value.
  return CRC32C.buf(data) >>> 0;
}

export function verifyChecksum(accessed: AccessedVersion, name: string): void {
  const expected = int64ToNumber(accessed.dataCrc32c);
  // Versions written before checksums existed carry none: nothing to verify against.
  if (expected === undefined) return;
  if (expected === null || expected !== crc32c(accessed.data)) {
    throw new IntegrityError(
      `GCP returned ${name} with a payload that fails its CRC32C check (${accessed.data.byteLength} bytes); it was discarded: retry, and if it persists add a fresh version`,
    );
  }
}

/** int64 arrives as a string (gax loads protos with longs: String), a number, a bigint or a Long. */
function int64ToNumber(value: unknown): number | undefined | null {
  if (value === undefined || value === null) return undefined;
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string') n = value.trim() === '' ? Number.NaN : Number(value);
  else if (typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high } = value as { low: unknown; high: unknown };
    if (typeof low !== 'number' || typeof high !== 'number') return null;
    n = (high >>> 0) * 2 ** 32 + (low >>> 0);
  } else return null;
  if (!Number.isSafeInteger(n)) return null;
  // Some encoders send the 32-bit value signed.
  return n < 0 && n >= -(2 ** 31) ? n >>> 0 : n;
}

export function versionNumber(name: string): string | undefined {
  return /\/versions\/(\d+)$/.exec(name)?.[1];
}
