import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration, parseDurationList } from '../../src/core/duration.js';
import { UsageError } from '../../src/core/errors.js';

describe('parseDuration', () => {
  test.each([
    ['90', 90_000],
    ['1.5', 1500],
    ['500ms', 500],
    ['45s', 45_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text, '--timeout')).toBe(ms);
  });

  test.each(['', 'soon', '5 minutes', '1h-5m', '10x'])('refuses %j with a usage error naming the flag', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(UsageError);
    expect(() => parseDuration(text, '--timeout')).toThrow(/--timeout takes a duration/);
  });
});

describe('parseDurationList', () => {
  test.each([
    ['1h,10m', [3_600_000, 600_000]],
    ['5m', [300_000]],
    [' 1h , 10m ,', [3_600_000, 600_000]],
  ])('%j is %j', (text, values) => {
    expect(parseDurationList(text, '--warn-before')).toEqual(values);
  });

  test.each(['', ',', '1h,soon'])('refuses %j naming the flag', (text) => {
    expect(() => parseDurationList(text, '--warn-before')).toThrow(/--warn-before takes/);
  });
});

describe('formatDuration: one printed form, compact, that parseDuration reads back', () => {
  // Before: `5m 0s`, `1d 1h 1m` (with spaces: not a flag value), and the callers added `4m0s` and `300000 ms`.
  test.each([
    [0, '0s'],
    [500, '500ms'],
    [42_000, '42s'],
    [90_000, '1m30s'],
    [240_000, '4m'],
    [270_000, '4m30s'],
    [300_000, '5m'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h'],
    [4_200_000, '1h10m'],
    [90_061_000, '1d1h1m1s'],
    [183_600_000, '2d3h'],
    [-120_000, '-2m'],
  ])('%i ms prints as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test.each(['5m', '4m30s', '1h10m', '500ms', '2d3h', '30s', '1d1h1m1s', '10s', '0s'])('round trip: %s -> parse -> format is %s again', (text) => {
    expect(formatDuration(parseDuration(text, '--x'))).toBe(text);
  });

  test.each([1, 999, 1000, 61_000, 3_600_000 + 1000, 86_400_000 * 3 + 7000, 2 ** 31 - 1000])('round trip: %i ms -> format -> parse keeps the value to the second', (ms) => {
    const printed = formatDuration(ms);
    expect(printed).not.toMatch(/\s/);
    expect(parseDuration(printed, '--x')).toBe(ms < 1000 ? ms : Math.floor(ms / 1000) * 1000);
  });

  test('a sub-second rest of a longer time is dropped, never rounded up (a time left is never overstated)', () => {
    expect(formatDuration(119_999)).toBe('1m59s');
  });
});
