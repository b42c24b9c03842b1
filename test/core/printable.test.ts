import { describe, expect, test } from 'vitest';
import { printable } from '../../src/core/printable.js';

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
