import { describe, expect, test } from 'vitest';
import { parseCredentials } from '../../src/core/credentials.js';
import { SAME_LOGIN_TOLERANCE_MS, compareLogins, freshestIndex, isFromClockAhead, isRefreshOf, mayReplace, readSyncMeta } from '../../src/core/freshness.js';
import { storeCopyText } from '../../src/core/merge.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = 100 * DAY;
const login = (expiresAt: number, loginEnd?: number) =>
  parseCredentials(makeFakeCredentials({ expiresAt, ...(loginEnd === undefined ? {} : { extraOAuth: { refreshTokenExpiresAt: loginEnd } }) }).json);

describe('compareLogins', () => {
  test.each([
    ['a login ending days later is newer', NOW + 30 * DAY, NOW + 20 * DAY, 'newer'],
    ['a login ending days earlier is older', NOW + 10 * DAY, NOW + 20 * DAY, 'older'],
    ['ends within the tolerance: one login', NOW + 20 * DAY + SAME_LOGIN_TOLERANCE_MS - 1, NOW + 20 * DAY, 'same'],
    ['one side does not say', undefined, NOW + 20 * DAY, 'unknown'],
  ] as const)('%s', (_name, endA, endB, expected) => {
    expect(compareLogins(login(NOW, endA), login(NOW, endB))).toBe(expected);
  });
});

describe('mayReplace and isFromClockAhead', () => {
  test('a token expiring more than 9 h ahead of the reader comes from a clock that runs ahead', () => {
    expect(isFromClockAhead(login(NOW + 9 * HOUR + 1), NOW)).toBe(true);
    expect(isFromClockAhead(login(NOW + 8 * HOUR), NOW)).toBe(false);
  });

  test('a document from a clock 24 h ahead never replaces a live one by its expiry, in either order of writing', () => {
    const skewed = login(NOW + 32 * HOUR);
    const live = login(NOW + 7 * HOUR);
    expect(mayReplace(skewed, live, NOW)).toBe(false);
    expect(mayReplace(live, skewed, NOW)).toBe(false);
  });

  test('the same tokens never replace each other', () => {
    const same = login(NOW + HOUR);
    expect(mayReplace(same, same, NOW)).toBe(false);
  });
});

describe('isRefreshOf', () => {
  test.each([
    ['new tokens, later expiry, same login: a refresh', login(NOW + 8 * HOUR, NOW + 20 * DAY), login(NOW + HOUR, NOW + 20 * DAY), true],
    ['an older copy (earlier expiry): not a refresh', login(NOW + HOUR), login(NOW + 8 * HOUR), false],
    ['another, older login: not a refresh', login(NOW + 8 * HOUR, NOW + 5 * DAY), login(NOW + HOUR, NOW + 20 * DAY), false],
  ] as const)('%s', (_name, local, delivered, expected) => {
    expect(isRefreshOf(local, delivered)).toBe(expected);
  });
});

describe('freshestIndex (versions written since a conflict)', () => {
  test('the highest generation wins over a later expiry, then the newer login, then the later expiry', () => {
    const gen = (expiresAt: number, generation: number, loginEnd?: number) =>
      parseCredentials(storeCopyText(login(expiresAt, loginEnd), undefined, { generation, writtenAt: undefined, writer: undefined }));
    expect(freshestIndex([gen(NOW + 32 * HOUR, 3), gen(NOW + HOUR, 4)])).toBe(1);
    expect(freshestIndex([gen(NOW + 5 * HOUR, 4, NOW + 30 * DAY), gen(NOW + 8 * HOUR, 4, NOW + 10 * DAY)])).toBe(0);
    expect(freshestIndex([gen(NOW + 5 * HOUR, 4), gen(NOW + 8 * HOUR, 4)])).toBe(1);
    expect(readSyncMeta(gen(NOW, 9)).generation).toBe(9);
  });
});
