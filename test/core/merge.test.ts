import { describe, expect, test } from 'vitest';
import { parseCredentials } from '../../src/core/credentials.js';
import { LEASE_KEY, decideSync, localCopyText, readLease, storeCopyText, withLease, type SideState } from '../../src/core/merge.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';

const at = (expiresAt: number, extra: Parameters<typeof makeFakeCredentials>[0] = {}) => parseCredentials(makeFakeCredentials({ expiresAt, ...extra }).json);
const valid = (expiresAt: number): SideState => ({ kind: 'valid', credentials: at(expiresAt) });
const missing: SideState = { kind: 'missing' };
const invalid: SideState = { kind: 'invalid', reason: 'blanked' };
const accessOnly = (expiresAt: number): SideState => {
  const doc = JSON.parse(makeFakeCredentials({ expiresAt }).json) as { claudeAiOauth: Record<string, unknown> };
  delete doc.claudeAiOauth.refreshToken;
  return { kind: 'valid', credentials: parseCredentials(JSON.stringify(doc), { requireRefreshToken: false }) };
};

describe('decideSync', () => {
  test.each([
    ['local newer than store', valid(2000), valid(1000), 'push'],
    ['store newer than local', valid(1000), valid(2000), 'pull'],
    ['equally fresh', valid(1000), valid(1000), 'in-sync'],
    ['store missing, local valid', valid(1000), missing, 'push'],
    ['store invalid, local valid', valid(1000), invalid, 'push'],
    ['local missing, store valid', missing, valid(1000), 'pull'],
    ['local blanked by the CLI, store valid (even if older)', invalid, valid(1000), 'pull'],
    ['both missing', missing, missing, 'in-sync'],
    ['local blanked, store missing: never push a blanked file', invalid, missing, 'in-sync'],
    ['access-only local copy newer than store: never pushed', accessOnly(3000), valid(1000), 'in-sync'],
    ['access-only local copy older than store', accessOnly(1000), valid(3000), 'pull'],
  ] as const)('%s -> %s', (_name, local, store, expected) => {
    expect(decideSync(local, store)).toBe(expected);
  });
});

describe('document merging', () => {
  test('a pull keeps the store bytes when the local side adds nothing', () => {
    const store = at(2000);
    expect(localCopyText(store, at(1000), { accessOnly: false })).toBe(store.text);
  });

  test('keeps the unknown keys of both sides, the newer side winning on the tokens', () => {
    const store = at(2000, { extraTopLevel: { fromStore: 1, shared: 'store' } });
    const local = at(1000, { extraTopLevel: { fromLocal: 2, shared: 'local' }, extraOAuth: { rateLimitTier: 'tier-x' } });
    const merged = JSON.parse(localCopyText(store, local, { accessOnly: false })) as Record<string, any>;
    expect(merged).toMatchObject({ fromStore: 1, fromLocal: 2, shared: 'store' });
    expect(merged.claudeAiOauth).toMatchObject({ accessToken: store.oauth.accessToken, refreshToken: store.oauth.refreshToken, expiresAt: 2000, rateLimitTier: 'tier-x' });
    const pushed = JSON.parse(storeCopyText(local, store)) as Record<string, any>;
    expect(pushed).toMatchObject({ fromStore: 1, fromLocal: 2, shared: 'local' });
    expect(pushed.claudeAiOauth.accessToken).toBe(local.oauth.accessToken);
  });

  test('an access-only copy holds the access token and expiry but no refresh token', () => {
    const store = at(2000);
    const text = localCopyText(store, undefined, { accessOnly: true });
    const copy = parseCredentials(text, { requireRefreshToken: false });
    expect(copy.oauth.accessToken).toBe(store.oauth.accessToken);
    expect(copy.oauth.expiresAt).toBe(2000);
    expect(copy.oauth.refreshToken).toBe('');
    expect(text).not.toContain(store.oauth.refreshToken);
    expect(() => parseCredentials(text)).toThrow(/refreshToken/);
  });

  test('a lease rides in the store document but never reaches a local copy or a push', () => {
    const store = at(2000);
    const leased = parseCredentials(withLease(store, { holder: 'sidecar-a', until: 99 }));
    expect(readLease(leased)).toEqual({ holder: 'sidecar-a', until: 99 });
    expect(leased.oauth).toEqual(store.oauth);
    expect(localCopyText(leased, undefined, { accessOnly: false })).not.toContain(LEASE_KEY);
    expect(storeCopyText(at(3000), leased)).not.toContain(LEASE_KEY);
    expect(readLease(store)).toBeUndefined();
  });
});
