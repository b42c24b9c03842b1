import { issuedFakeTokens } from './fake-credentials.js';

/** Runs of this many characters taken from a token count as a leak even when the whole token does not appear. */
export const LEAK_WINDOW = 20;

/**
 * The places in `text` where a fake token, or any 20-character run of one, appears. Runs are taken
 * from the random tail of each token so the shared `sk-ant-oat01-FAKE-TEST-` prefix does not match itself.
 */
export function findLeaks(text: string, tokens: Iterable<string> = issuedFakeTokens): string[] {
  const hits: string[] = [];
  for (const token of tokens) {
    if (text.includes(token)) {
      hits.push(`whole token ${token.slice(0, 12)}...`);
      continue;
    }
    const secretPart = token.slice(token.indexOf('-TEST-') + 6);
    for (let start = 0; start + LEAK_WINDOW <= secretPart.length; start += 1) {
      if (text.includes(secretPart.slice(start, start + LEAK_WINDOW))) {
        hits.push(`a ${LEAK_WINDOW}-character run of ${token.slice(0, 12)}...`);
        break;
      }
    }
  }
  return hits;
}

export function assertNoLeaks(where: string, text: string, tokens?: Iterable<string>): void {
  const hits = findLeaks(text, tokens);
  if (hits.length > 0) throw new Error(`token leak in ${where}: ${hits.join(', ')}`);
}
