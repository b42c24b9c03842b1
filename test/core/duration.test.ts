import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
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

describe('formatDuration', () => {
  test.each([
    [42_000, '42s'],
    [3_599_000, '59m 59s'],
    [3_600_000, '1h'],
    [90_061_000, '1d 1h 1m'],
    [-120_000, '-2m 0s'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
