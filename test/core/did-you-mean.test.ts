import { describe, expect, test } from 'vitest';
import { didYouMean, editDistance, suggestNames } from '../../src/core/did-you-mean.js';

const COMMANDS = ['fetch', 'run', 'sidecar', 'status', 'api-key', 'push', 'completion', 'help'];

describe('did you mean', () => {
  test.each([
    ['fetch', 'fetch', 0],
    ['fecth', 'fetch', 1],
    ['stauts', 'status', 1],
    ['satus', 'status', 1],
    ['sidcar', 'sidecar', 1],
    ['echo', 'fetch', 3],
  ])('editDistance(%s, %s) is %i (a swap of neighbours counts once)', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });

  test.each([
    ['fecth', ['fetch']],
    ['stauts', ['status']],
    ['sidcar', ['sidecar']],
    ['pusj', ['push']],
    ['api_key', ['api-key']],
    ['stat', ['status']],
    ['Fetch', ['fetch']],
    ['echo', []],
    ['rm', []],
    ['sh', []],
    ['true', []],
    ['python', []],
  ])('%s suggests %j', (word, expected) => {
    expect(suggestNames(word, COMMANDS)).toEqual(expected);
  });

  test('the wording', () => {
    expect(didYouMean('fecth', COMMANDS)).toBe(' (did you mean fetch?)');
    expect(didYouMean('echo', COMMANDS)).toBe('');
  });
});
