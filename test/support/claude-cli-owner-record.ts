/**
 * The `.oauth_refresh.lock.owner` record of Claude CLI 2.1.332 and the way it judges a lock holder dead
 * (docs/claude-cli-behaviour.md, "The owner record"): identity strings computed exactly as the CLI
 * computes them for its own process, the record's schema, and the "holder proven gone" test.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const OWNER_RECORD_NAME = '.oauth_refresh.lock.owner';

/** Who holds a lock, as the CLI describes a process. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 (starttime) of /proc/<pid>/stat, as a string; absent when unreadable. */
  readonly procStart?: string | undefined;
  /** `linux:<machine-id>:<pid namespace>` */
  readonly pidDomain: string;
  /** `<hostname>#<pid namespace>` */
  readonly pidSpace: string;
}

export interface OwnerRecord extends ProcessIdentity {
  readonly lockBirthtimeMs: number;
  readonly legacyLockBirthtimeMs?: number | undefined;
}

function readOr(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

/** `starttime` of a process, read the CLI's way: `stat.slice(lastIndexOf(")") + 2).split(" ")[19]`. */
export function procStartOf(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] || undefined;
  } catch {
    return undefined;
  }
}

function processState(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** This process as a Linux CLI would describe itself. */
export function ownIdentity(): ProcessIdentity {
  const pidNamespace = readOr(() => readlinkSync('/proc/self/ns/pid'));
  const machineId = readOr(() => readFileSync('/etc/machine-id', 'utf8').trim());
  return {
    pid: process.pid,
    procStart: procStartOf(process.pid),
    pidDomain: `linux:${machineId}:${pidNamespace}`,
    pidSpace: `${hostname()}${pidNamespace === '' ? '' : `#${pidNamespace}`}`,
  };
}

/** The CLI trusts its pid view only when /proc is its own and shows at least 16 processes. */
export function pidViewTrusted(): boolean {
  if (process.platform !== 'linux') return true;
  if (readOr(() => readlinkSync('/proc/self')) !== String(process.pid)) return false;
  try {
    return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length >= 16;
  } catch {
    return false;
  }
}

const isString = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max;
const isPositive = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;

/** The CLI's schema; anything else counts as no record at all. */
export function parseOwnerRecord(text: string): OwnerRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (!Number.isInteger(record.pid)) return undefined;
  if (record.procStart !== undefined && !isString(record.procStart, 64)) return undefined;
  if (!isString(record.pidDomain, 512) || !isString(record.pidSpace, 512)) return undefined;
  if (!isPositive(record.lockBirthtimeMs)) return undefined;
  if (record.legacyLockBirthtimeMs !== undefined && !isPositive(record.legacyLockBirthtimeMs)) return undefined;
  return {
    pid: record.pid as number,
    procStart: record.procStart as string | undefined,
    pidDomain: record.pidDomain,
    pidSpace: record.pidSpace,
    lockBirthtimeMs: record.lockBirthtimeMs,
    legacyLockBirthtimeMs: record.legacyLockBirthtimeMs as number | undefined,
  };
}

export async function readOwnerRecord(configDir: string): Promise<OwnerRecord | undefined> {
  try {
    const path = join(configDir, OWNER_RECORD_NAME);
    if ((await stat(path)).size > 4096) return undefined;
    return parseOwnerRecord(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Writes the record for the locks just taken (temp + rename); returns the main lock's birthtime, or
 * undefined when the filesystem has none (the CLI then writes no record).
 */
export async function writeOwnerRecord(
  configDir: string,
  identity: ProcessIdentity,
  lockDir: string,
  legacyLockDir: string | undefined,
): Promise<number | undefined> {
  const main = await stat(lockDir);
  if (!(main.birthtimeMs > 0)) return undefined;
  const legacy = legacyLockDir === undefined ? undefined : await stat(legacyLockDir).catch(() => undefined);
  const record: OwnerRecord = {
    pid: identity.pid,
    ...(identity.procStart === undefined ? {} : { procStart: identity.procStart }),
    pidDomain: identity.pidDomain,
    pidSpace: identity.pidSpace,
    lockBirthtimeMs: main.birthtimeMs,
    ...(legacy !== undefined && legacy.birthtimeMs > 0 ? { legacyLockBirthtimeMs: legacy.birthtimeMs } : {}),
  };
  const path = join(configDir, OWNER_RECORD_NAME);
  const temp = `${path}.tmp.${randomBytes(4).toString('hex')}`;
  await writeFile(temp, JSON.stringify(record));
  await rename(temp, path);
  return main.birthtimeMs;
}

/** Removes the record at release, only while it still names this holder and this lock. */
export async function removeOwnRecord(configDir: string, pid: number, lockBirthtimeMs: number): Promise<void> {
  const record = await readOwnerRecord(configDir);
  if (record === undefined || record.pid !== pid || record.lockBirthtimeMs !== lockBirthtimeMs) return;
  await rm(join(configDir, OWNER_RECORD_NAME), { force: true });
}

/**
 * The CLI's test that a holder is gone: a plausible pid, and `kill(pid, 0)` says ESRCH, or the process
 * is a zombie, or its start time differs from the recorded one (the pid was reused). EPERM means alive.
 */
export function holderProvenGone(record: Pick<OwnerRecord, 'pid' | 'procStart'>): boolean {
  const { pid } = record;
  if (!Number.isInteger(pid) || pid <= 1 || pid > 2147483647) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ESRCH') return true;
  }
  const state = processState(pid);
  if (state === 'Z' || state === 'X') return true;
  if (record.procStart !== undefined) {
    const now = procStartOf(pid);
    if (now !== undefined && now !== record.procStart) return true;
  }
  return false;
}
