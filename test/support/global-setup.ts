import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Gives every test process (vitest workers and the CLI processes they spawn) one log file for the
 * loopback guard, and fails the run when anything was blocked: SDKs tend to swallow the error.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'claude-creds-guard-'));
  const log = join(dir, 'violations.log');
  process.env.CLAUDE_CREDS_GUARD_LOG = log;
  return () => {
    let violations = '';
    try {
      violations = readFileSync(log, 'utf8');
    } catch {
      // no file: nothing was blocked
    }
    rmSync(dir, { recursive: true, force: true });
    if (violations.trim() !== '') {
      throw new Error(`the loopback guard blocked traffic during the tests:\n${violations}`);
    }
  };
}
