import { describe, expect, test } from 'vitest';
import {
  DURATION_BOUNDS,
  MAX_TIMER_MS,
  parseBoundedDuration,
  parseBoundedDurationList,
  parseRequiredDuration,
  refreshBeforeBound,
  type DurationBound,
} from '../../src/core/duration-bounds.js';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { UsageError } from '../../src/core/errors.js';

const bounds = Object.values(DURATION_BOUNDS) as DurationBound[];

describe('duration bounds', () => {
  test.each(bounds.map((bound) => [bound.flag, bound]))('%s: its limits print in the parseable form and every timer stays below the 24.8-day limit', (_flag, bound) => {
    expect(bound.minMs).toBeLessThan(bound.maxMs);
    expect(parseDuration(formatDuration(bound.minMs), bound.flag)).toBe(bound.minMs);
    expect(parseDuration(formatDuration(bound.maxMs), bound.flag)).toBe(bound.maxMs);
    if (bound !== DURATION_BOUNDS.warnBefore) expect(bound.maxMs).toBeLessThan(MAX_TIMER_MS); // a threshold, not a timer
    expect(bound.whyMin.length).toBeGreaterThan(5);
    expect(bound.whyMax.length).toBeGreaterThan(5);
  });

  test.each([
    ['pull-interval 10ms: too short, with the reason', DURATION_BOUNDS.pullInterval, '10ms', /--pull-interval 10ms is too short: at least 1s \(each pull is a billed read of the store/],
    ['pull-interval 0: says off', DURATION_BOUNDS.pullInterval, '0', /--pull-interval 0: write "off" to turn pulling off, or give at least 1s \(each pull is a billed read of the store\)/],
    ['pull-interval 0s: says off', DURATION_BOUNDS.pullInterval, '0s', /write "off"/],
    ['pull-interval 30d: too long (a timer would overflow)', DURATION_BOUNDS.pullInterval, '30d', /--pull-interval 30d is too long: at most 1d/],
    ['poll-interval 0: says off', DURATION_BOUNDS.pollInterval, '0', /--poll-interval 0: write "off" to turn the stat poll off/],
    ['poll-interval 100ms', DURATION_BOUNDS.pollInterval, '100ms', /too short: at least 1s/],
    ['timeout 0: no off for it', DURATION_BOUNDS.timeout, '0', /--timeout 0: a duration of at least 1s is needed/],
    ['timeout off', DURATION_BOUNDS.timeout, 'off', /--timeout cannot be turned off; give a duration from 1s to 1h/],
    ['timeout 2h', DURATION_BOUNDS.timeout, '2h', /--timeout 2h is too long: at most 1h/],
    ['flush-timeout 500ms', DURATION_BOUNDS.flushTimeout, '500ms', /--flush-timeout 500ms is too short/],
    ['cache-ttl 0', DURATION_BOUNDS.cacheTtl, '0', /--cache-ttl 0: a duration of at least 1s/],
    ['cache-ttl 2d', DURATION_BOUNDS.cacheTtl, '2d', /--cache-ttl 2d is too long: at most 1d/],
    ['recall-window 0: says off', DURATION_BOUNDS.recallWindow, '0', /--recall-window 0: write "off" to turn the re-read on a quick re-call off/],
    ['refresh-jitter 2h', DURATION_BOUNDS.refreshJitter, '2h', /--refresh-jitter 2h is too long/],
  ])('%s', (_name, bound, text, message) => {
    expect(() => parseBoundedDuration(text, bound)).toThrow(UsageError);
    expect(() => parseBoundedDuration(text, bound)).toThrow(message);
  });

  test.each([
    [DURATION_BOUNDS.pullInterval, '5m', 300_000],
    [DURATION_BOUNDS.pullInterval, 'off', undefined],
    [DURATION_BOUNDS.pullInterval, 'OFF', undefined],
    [DURATION_BOUNDS.pullInterval, '1s', 1000],
    [DURATION_BOUNDS.pullInterval, '1d', 86_400_000],
    [DURATION_BOUNDS.pollInterval, 'off', undefined],
    [DURATION_BOUNDS.recallWindow, 'off', undefined],
    [DURATION_BOUNDS.refreshJitter, '0', 0],
    [DURATION_BOUNDS.timeout, '60s', 60_000],
  ])('%o accepts %s as %s', (bound, text, ms) => {
    expect(parseBoundedDuration(text, bound)).toBe(ms);
  });

  test('a list is checked element by element, naming the element at fault', () => {
    expect(parseBoundedDurationList('1h,10m', DURATION_BOUNDS.warnBefore)).toEqual([3_600_000, 600_000]);
    expect(() => parseBoundedDurationList('1h,0', DURATION_BOUNDS.warnBefore)).toThrow(/--warn-before 0: a duration of at least 1s is needed/);
    expect(() => parseBoundedDurationList('2y', DURATION_BOUNDS.warnBefore)).toThrow(/takes a duration/);
  });

  test('--refresh-before has its own hook, with the general limits for now', () => {
    const bound = refreshBeforeBound();
    expect(bound.flag).toBe('--refresh-before');
    expect(parseRequiredDuration('30m', bound)).toBe(1_800_000);
    expect(() => parseRequiredDuration('off', bound)).toThrow(/cannot be turned off/);
    expect(() => parseRequiredDuration('0', bound)).toThrow(/at least 1s/);
  });
});
