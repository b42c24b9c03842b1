import { describe, expect, test } from 'vitest';
import { parseCredentials } from '../../src/core/credentials.js';
import { SYNC_META_KEY, readSyncMeta } from '../../src/core/freshness.js';
import { LEASE_KEY, decideSync, localCopyText, pushedDocumentText, readLease, storeCopyText, withLease, type SideState } from '../../src/core/merge.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';

const NOW = 1_000_000;
const DAY = 86_400_000;
const at = (expiresAt: number, extra: Parameters<typeof makeFakeCredentials>[0] = {}) => parseCredentials(makeFakeCredentials({ expiresAt, ...extra }).json);
const valid = (expiresAt: number, extraOAuth: Record<string, unknown> = {}): SideState => ({ kind: 'valid', credentials: at(expiresAt, { extraOAuth }) });
const missing: SideState = { kind: 'missing' };
const invalid: SideState = { kind: 'invalid', reason: 'blanked' };
const accessOnly = (expiresAt: number): SideState => {
  const doc = JSON.parse(makeFakeCredentials({ expiresAt }).json) as { claudeAiOauth: Record<string, unknown> };
  delete doc.claudeAiOauth.refreshToken;
  return { kind: 'valid', credentials: parseCredentials(JSON.stringify(doc), { requireRefreshToken: false }) };
};
const endingAt = (loginEnd: number) => ({ refreshTokenExpiresAt: loginEnd });
const withDocument = (credentials: ReturnType<typeof at>) => ({ document: credentials.document, credentials });

describe('decideSync (no store order to go by)', () => {
  test.each([
    ['local newer than store', valid(NOW + 2000), valid(NOW + 1000), 'push'],
    ['store newer than local', valid(NOW + 1000), valid(NOW + 2000), 'pull'],
    ['store missing, local valid', valid(NOW + 1000), missing, 'push'],
    ['store invalid, local valid', valid(NOW + 1000), invalid, 'push'],
    ['local missing, store valid', missing, valid(NOW + 1000), 'pull'],
    ['local blanked by the CLI, store valid (even if older)', invalid, valid(NOW + 1000), 'pull'],
    ['both missing', missing, missing, 'in-sync'],
    ['local blanked, store missing: never push a blanked file', invalid, missing, 'in-sync'],
    ['access-only local copy newer than store: never pushed, kept', accessOnly(NOW + 3000), valid(NOW + 1000), 'in-sync'],
    ['access-only local copy older than store', accessOnly(NOW + 1000), valid(NOW + 3000), 'pull'],
    ['a local file from a clock 24 h ahead never wins by its expiry', valid(NOW + 32 * 3_600_000), valid(NOW + 7 * 3_600_000), 'pull'],
    ['a newer login wins although its token expires sooner', valid(NOW + 1000, endingAt(NOW + 30 * DAY)), valid(NOW + 5000, endingAt(NOW + 20 * DAY)), 'push'],
    ['an older login never wins, however late its token expires', valid(NOW + 9000, endingAt(NOW + 10 * DAY)), valid(NOW + 1000, endingAt(NOW + 20 * DAY)), 'pull'],
    ['within one login (ends within the tolerance) the later expiry wins', valid(NOW + 2000, endingAt(NOW + 20 * DAY + 60_000)), valid(NOW + 1000, endingAt(NOW + 20 * DAY)), 'push'],
  ] as const)('%s -> %s', (_name, local, store, expected) => {
    expect(decideSync(local, store, NOW)).toBe(expected);
  });

  test('the same login on both sides is in sync', () => {
    const same = valid(NOW + 1000);
    expect(decideSync(same, same, NOW)).toBe('in-sync');
  });
});

describe('document merging: only the login travels', () => {
  test('a pull into a missing file writes the store document minus claude-creds bookkeeping, byte for byte when there is none', () => {
    const store = at(2000);
    expect(localCopyText(store, { document: undefined, credentials: undefined }, { accessOnly: false })).toBe(store.text);
    const kept = parseCredentials(storeCopyText(at(3000), store, { generation: 4, writtenAt: 1, writer: 'x' }));
    const pulled = localCopyText(kept, { document: undefined, credentials: undefined }, { accessOnly: false });
    expect(pulled).not.toContain(SYNC_META_KEY);
  });

  test('a pull keeps every other top-level key of the worker (mcpOAuth...) and takes only the store login', () => {
    const store = at(2000, { extraTopLevel: { mcpOAuth: { store: 1 }, fromStore: 1 } });
    const local = at(1000, { extraTopLevel: { mcpOAuth: { worker: 2 }, fromLocal: 2 }, extraOAuth: { rateLimitTier: 'tier-x' } });
    const merged = JSON.parse(localCopyText(store, withDocument(local), { accessOnly: false })) as Record<string, any>;
    expect(merged.mcpOAuth).toEqual({ worker: 2 });
    expect(merged).toHaveProperty('fromLocal', 2);
    expect(merged).not.toHaveProperty('fromStore');
    expect(merged.claudeAiOauth).toMatchObject({ accessToken: store.oauth.accessToken, refreshToken: store.oauth.refreshToken, expiresAt: 2000, rateLimitTier: 'tier-x' });
  });

  test('a pull over a wiped file keeps the worker keys and drops the wipe marker', () => {
    const store = at(2000);
    const wiped = { claudeAiOauth: { accessToken: '', refreshToken: '', expiresAt: 0, loginEnded: 'time_limit' }, mcpOAuth: { worker: 1 } };
    const merged = JSON.parse(localCopyText(store, { document: wiped, credentials: undefined }, { accessOnly: false })) as Record<string, any>;
    expect(merged.mcpOAuth).toEqual({ worker: 1 });
    expect(merged.claudeAiOauth).not.toHaveProperty('loginEnded');
    expect(merged.claudeAiOauth.accessToken).toBe(store.oauth.accessToken);
  });

  test('a push keeps the store document keys, carries only the worker login, and records the generation', () => {
    const store = at(1000, { extraTopLevel: { mcpOAuth: { store: 1 }, fromStore: 1 } });
    const local = at(2000, { extraTopLevel: { mcpOAuth: { worker: 2 }, fromLocal: 2 } });
    const pushed = parseCredentials(storeCopyText(local, store, { generation: 7, writtenAt: 123, writer: 'sidecar-a', parent: 6 }));
    expect(pushed.document.mcpOAuth).toEqual({ store: 1 });
    expect(pushed.document).toHaveProperty('fromStore', 1);
    expect(pushed.document).not.toHaveProperty('fromLocal');
    expect(pushed.oauth.accessToken).toBe(local.oauth.accessToken);
    expect(readSyncMeta(pushed)).toEqual({ generation: 7, writtenAt: 123, writer: 'sidecar-a', parent: 6 });
  });

  test('inner keys of the same login survive a CLI that drops them; another login\'s never ride along', () => {
    const sameLogin = endingAt(5 * DAY);
    const stored = at(1000, { extraOAuth: { ...sameLogin, accountUuid: 'acct-1' } });
    const refreshedWithoutThem = at(2000);
    const pushed = JSON.parse(storeCopyText(refreshedWithoutThem, stored, { generation: 1, writtenAt: undefined, writer: undefined })) as Record<string, any>;
    expect(pushed.claudeAiOauth).toMatchObject({ refreshTokenExpiresAt: 5 * DAY, accountUuid: 'acct-1' });
    const newerLogin = at(2000, { extraOAuth: endingAt(40 * DAY) });
    const replaced = JSON.parse(storeCopyText(newerLogin, stored, { generation: 2, writtenAt: undefined, writer: undefined })) as Record<string, any>;
    expect(replaced.claudeAiOauth).not.toHaveProperty('accountUuid');
    expect(replaced.claudeAiOauth.refreshTokenExpiresAt).toBe(40 * DAY);
  });

  test('an access-only copy holds the access token and expiry but no refresh token', () => {
    const store = at(2000);
    const text = localCopyText(store, { document: undefined, credentials: undefined }, { accessOnly: true });
    const copy = parseCredentials(text, { requireRefreshToken: false });
    expect(copy.oauth.accessToken).toBe(store.oauth.accessToken);
    expect(copy.oauth.expiresAt).toBe(2000);
    expect(copy.oauth.refreshToken).toBe('');
    expect(text).not.toContain(store.oauth.refreshToken);
    expect(() => parseCredentials(text)).toThrow(/refreshToken/);
  });

  test('a local copy is written in the local clock when it runs far ahead, and pushed back in the fleet\'s', () => {
    const lead = 24 * 3_600_000;
    const store = at(5000, { extraOAuth: endingAt(9000) });
    const local = parseCredentials(localCopyText(store, { document: undefined, credentials: undefined }, { accessOnly: false, clockOffsetMs: lead }));
    expect(local.oauth.expiresAt).toBe(5000 + lead);
    expect(local.oauth.refreshTokenExpiresAt).toBe(9000 + lead);
    const back = parseCredentials(storeCopyText(local, store, { generation: 1, writtenAt: undefined, writer: undefined }, { clockOffsetMs: lead }));
    expect(back.oauth.expiresAt).toBe(5000);
  });

  test('a lease rides in the store document but never reaches a local copy or a push', () => {
    const store = at(2000);
    const leased = parseCredentials(withLease(store, { holder: 'sidecar-a', until: 99 }));
    expect(readLease(leased)).toEqual({ holder: 'sidecar-a', until: 99 });
    expect(leased.oauth).toEqual(store.oauth);
    expect(localCopyText(leased, { document: undefined, credentials: undefined }, { accessOnly: false })).not.toContain(LEASE_KEY);
    expect(storeCopyText(at(3000), leased, { generation: 1, writtenAt: undefined, writer: undefined })).not.toContain(LEASE_KEY);
    expect(pushedDocumentText(leased, { generation: 2, writtenAt: undefined, writer: undefined })).not.toContain(LEASE_KEY);
    expect(readLease(store)).toBeUndefined();
  });
});
