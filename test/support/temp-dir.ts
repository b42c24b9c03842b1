import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** A fresh temporary directory per test, removed afterwards. Call at the top of a describe block. */
export function useTempDir(prefix = 'claude-creds-'): () => string {
  let current: string | undefined;
  afterEach(() => {
    if (current) rmSync(current, { recursive: true, force: true });
    current = undefined;
  });
  return () => {
    current ??= mkdtempSync(join(tmpdir(), prefix));
    return current;
  };
}
