/** "Did you mean fetch?": the closest names to a mistyped one, by edit distance with transpositions. */

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidates `word` is most likely a typo of: within one edit for short words (so `rm` or `sh`
 * suggest nothing), two from five letters on, or a name it is the start of (`stat` for status).
 */
export function suggestNames(word: string, candidates: readonly string[]): string[] {
  const lower = word.toLowerCase();
  const allowed = lower.length >= 5 ? 2 : 1;
  const scored = candidates
    .map((name) => ({ name, distance: lower.length >= 3 && name.startsWith(lower) ? 1 : editDistance(lower, name) }))
    .filter(({ distance }) => distance <= allowed);
  const best = Math.min(...scored.map(({ distance }) => distance));
  return scored.filter(({ distance }) => distance === best).map(({ name }) => name);
}

/** ` (did you mean fetch?)`, or nothing. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const names = suggestNames(word, candidates);
  return names.length === 0 ? '' : ` (did you mean ${names.join(' or ')}?)`;
}
