import { describe, expect, test } from 'vitest';
import { printable, printableJson } from '../../src/core/printable.js';

describe('printable', () => {
  test.each([
    ['plain text', 'max', 'max'],
    ['an ESC sequence', 'max\u001b[2J\u001b[31m', 'max\\u001b[2J\\u001b[31m'],
    ['a forged line', 'max\nexpires: 2099-01-01', 'max\\nexpires: 2099-01-01'],
    ['a carriage return', 'ok\rexpired', 'ok\\rexpired'],
    ['a C1 control (CSI)', 'a\u009bb', 'a\\u009bb'],
    ['DEL', 'a\u007fb', 'a\\u007fb'],
    ['a Unicode line separator', 'a\u2028b', 'a\\u2028b'],
    ['a bidi override', 'a\u202eb', 'a\\u202eb'],
    ['a backslash, so escapes stay unambiguous', 'a\\nb', 'a\\\\nb'],
    ['non-ASCII letters', 'día ✓', 'día ✓'],
  ])('%s', (_name, input, expected) => {
    expect(printable(input)).toBe(expected);
    expect(printable(input)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe('printableJson', () => {
  test.each([
    ['C0 controls (JSON.stringify escapes them itself)', { s: 'a\u001b[2J\nb' }],
    ['DEL and C1 controls, which JSON.stringify leaves raw', { s: 'a\u007f\u009b31mb' }],
    ['line separators and bidi overrides', { s: 'a\u2028b\u202ec' }],
    ['plain and non-ASCII text', { s: 'día ✓', n: 3 }],
  ])('%s: no raw control character, and it parses back to the same value', (_name, value) => {
    const text = printableJson(value, 2);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
