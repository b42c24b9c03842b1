import { UsageError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse `90s`, `5m`, `1h30m`, `500ms`, `2d`; a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const consumed = parts.map((part) => part[0]).join('');
  if (parts.length === 0 || consumed !== trimmed) {
    throw new UsageError(`${flag} takes a duration such as 90s, 5m or 1h30m, not "${text}"`);
  }
  return Math.round(parts.reduce((total, part) => total + Number(part[1]) * (UNIT_MS[part[2] ?? 's'] ?? 0), 0));
}

/** A comma list of durations (`1h,10m`), each parsed as by parseDuration; at least one. */
export function parseDurationList(text: string, flag: string): number[] {
  const parts = text.split(',').filter((part) => part.trim() !== '');
  if (parts.length === 0) throw new UsageError(`${flag} takes one or more durations separated by commas, such as 1h,10m, not "${text}"`);
  return parts.map((part) => parseDuration(part, flag));
}

const PRINTED_UNITS: ReadonlyArray<readonly [unit: string, ms: number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/**
 * The one printed form of a duration, in logs, --dry-run, status, help defaults and error messages:
 * `5m`, `4m30s`, `1h10m`, `2d3h`, `500ms`, `0s`; `-2m` for a time already past. Whole seconds and up;
 * milliseconds only below one second (a sub-second rest of a longer time is dropped, never rounded
 * up). parseDuration reads every printed form back, so a value from the log can be pasted into a flag.
 */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const total = Math.abs(ms);
  if (total < 1000) return `${sign}${Math.floor(total) === 0 ? '0s' : `${Math.floor(total)}ms`}`;
  let rest = Math.floor(total / 1000) * 1000;
  let text = '';
  for (const [unit, size] of PRINTED_UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) text += `${count}${unit}`;
  }
  return sign + text;
}
