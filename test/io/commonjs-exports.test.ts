import { describe, expect, test } from 'vitest';
import { commonJsExports } from '../../src/io/commonjs-exports.js';

describe('commonJsExports', () => {
  const lock = () => 'locked';
  test.each([
    ['named exports, as Node gives them', { lock, default: { lock } }],
    ['only a default, as a bundle may give them', { default: { lock } }],
  ])('finds the exports with %s', (_name, module) => {
    expect(commonJsExports(module as { lock: () => string }, 'lock').lock()).toBe('locked');
  });

  test('names the missing export instead of failing later with "is not a function"', () => {
    expect(() => commonJsExports({ default: {} } as unknown as { lock: () => string }, 'lock')).toThrow(/no export "lock"/);
  });
});
