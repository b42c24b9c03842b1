/**
 * The simulated Claude CLI's credentials file: read, the `.storage-write.lock`-guarded read-modify-write
 * every CLI change goes through, the temp+rename write, and the documents the CLI saves after a refresh
 * and after `invalid_grant` (docs/claude-cli-behaviour.md, "The credentials file", "Errors").
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

export type JsonObject = Record<string, unknown>;

export interface CliTokens {
  readonly accessToken?: string;
  readonly refreshToken?: string;
  readonly expiresAt?: number | null;
  readonly refreshTokenExpiresAt?: number;
  readonly scopes?: readonly string[];
  readonly subscriptionType?: string | null;
  readonly rateLimitTier?: string | null;
  readonly clientId?: string;
  readonly accountUuid?: string;
  readonly organizationUuid?: string;
  readonly [key: string]: unknown;
}

export const credentialsPath = (configDir: string): string => join(configDir, '.credentials.json');

export async function readDocument(configDir: string): Promise<JsonObject | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(credentialsPath(configDir), 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

export function tokensOf(document: JsonObject | undefined): CliTokens | undefined {
  const oauth = document?.claudeAiOauth;
  return typeof oauth === 'object' && oauth !== null ? (oauth as CliTokens) : undefined;
}

/** `<path>.tmp.<8 hex>` written 0600, renamed over the file, chmod 0600 — compact JSON, no newline. */
export async function writeDocument(configDir: string, document: JsonObject): Promise<void> {
  const path = credentialsPath(configDir);
  const temp = `${path}.tmp.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, JSON.stringify(document), { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await chmod(path, 0o600);
}

/**
 * The CLI's `mutate`: under `<dir>/.storage-write.lock` re-read the file, apply `change`, write only when
 * it returned a different object. Returns whether it wrote.
 */
export async function mutateDocument(configDir: string, change: (document: JsonObject) => JsonObject): Promise<boolean> {
  const release = await lockfile.lock(join(configDir, '.storage-write'), {
    realpath: false,
    stale: 15_000,
    retries: { retries: 10, minTimeout: 100, maxTimeout: 1000 },
    onCompromised: () => undefined,
  });
  try {
    const current = (await readDocument(configDir)) ?? {};
    const next = change(current);
    if (next === current) return false;
    await writeDocument(configDir, next);
    return true;
  } finally {
    await release().catch(() => undefined);
  }
}

/** What the token endpoint answered, as the CLI reads it. */
export interface RefreshAnswer {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt: number;
  readonly refreshTokenExpiresAt: number | undefined;
  readonly scopes: readonly string[];
  readonly clientId: string | undefined;
}

const plausibleDeadline = (value: unknown, now: number): value is number =>
  typeof value === 'number' && value >= Date.UTC(2025, 0, 1) && value <= now + 315_360_000_000;

/** 2.1.197 (`Ece`): claudeAiOauth rebuilt from the answer, plan fields kept; no CAS. */
export function savedBy197(document: JsonObject, answer: RefreshAnswer): JsonObject {
  const old = tokensOf(document);
  return {
    ...document,
    claudeAiOauth: {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      expiresAt: answer.expiresAt,
      scopes: answer.scopes,
      subscriptionType: old?.subscriptionType ?? null,
      rateLimitTier: old?.rateLimitTier ?? null,
      clientId: answer.clientId,
    },
  };
}

/**
 * 2.1.332 (`_Ws` → `BC`): written only while the file still holds the refresh token that was sent (or
 * `""`), else the sibling's tokens are adopted (returns the document unchanged). `refreshTokenExpiresAt`
 * is never extended: min(old, new) when the old one is plausible, absent otherwise.
 */
export function savedBy332(document: JsonObject, answer: RefreshAnswer, postedRefreshToken: string, now: number): JsonObject {
  const old = tokensOf(document);
  if (old === undefined || (old.refreshToken !== '' && old.refreshToken !== postedRefreshToken)) return document;
  const fresh = plausibleDeadline(answer.refreshTokenExpiresAt, now) ? answer.refreshTokenExpiresAt : undefined;
  const kept = plausibleDeadline(old.refreshTokenExpiresAt, now) ? old.refreshTokenExpiresAt : undefined;
  return {
    ...document,
    claudeAiOauth: {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      expiresAt: answer.expiresAt,
      refreshTokenExpiresAt: kept === undefined ? undefined : Math.min(kept, fresh ?? kept),
      scopes: answer.scopes,
      subscriptionType: old.subscriptionType ?? null,
      ...(old.subscriptionTypeSource === undefined ? {} : { subscriptionTypeSource: old.subscriptionTypeSource }),
      rateLimitTier: old.rateLimitTier ?? null,
      clientId: answer.clientId,
      accountUuid: old.accountUuid,
      organizationUuid: old.organizationUuid,
    },
  };
}

/**
 * The wipe on `invalid_grant`, by CAS on the refresh token that was sent: tokens blanked, every other key
 * kept in place. 2.1.332 (`marksLoginEnd`) also sets `loginEnded`: "time_limit" when the endpoint said
 * "Refresh token expired", else undefined (dropped from the JSON).
 */
export function wiped(document: JsonObject, postedRefreshToken: string, marksLoginEnd: boolean, reachedTimeLimit: boolean): JsonObject {
  const old = tokensOf(document);
  if (old === undefined || old.refreshToken !== postedRefreshToken) return document;
  return {
    ...document,
    claudeAiOauth: {
      ...old,
      refreshToken: '',
      accessToken: '',
      expiresAt: 0,
      ...(marksLoginEnd ? { loginEnded: reachedTimeLimit ? 'time_limit' : undefined } : {}),
    },
  };
}
