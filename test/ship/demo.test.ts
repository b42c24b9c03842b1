import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { GUARD, cliEnv, runProcess } from '../support/cli.js';
import { ROOT } from './ship-support.js';

const DEMO = join(ROOT, 'scripts', 'demo.mjs');
/** The demo's own CLI processes run under the loopback guard too. */
const guarded = (extra: Record<string, string | undefined> = {}) => ({ NODE_OPTIONS: `--import=${GUARD}`, CLAUDE_CREDS_LOG_FORMAT: undefined, ...extra });

const leftovers: string[] = [];
const remember = (output: string): string => {
  const dir = /Everything is under (\S+);/.exec(output)?.[1];
  if (dir !== undefined) leftovers.push(dir);
  return output;
};

describe('npm run demo', () => {
  afterEach(() => {
    for (const dir of leftovers.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  test('into a pipe: no ANSI escape at all, and the worker reports what it actually checked', async () => {
    const result = await runProcess(process.execPath, [DEMO], 'npm run demo', { env: guarded(), timeoutMs: 60_000 });
    const output = remember(result.stdout + result.stderr);
    expect(result.code, output).toBe(0);
    expect(output).not.toContain('\u001b');
    // The step uses the file provider; the wrapper was also given CLAUDE_CREDENTIALS_B64, and the worker checks for it.
    expect(result.stdout).toContain('[worker] CLAUDE_CREDENTIALS_B64 (given to the wrapper) in my environment: no (stripped)');
    expect(result.stdout).toContain('[worker] variables holding a token value: none');
    expect(result.stdout).toContain('[worker] mode 600, directory mode 700');
    expect(output).not.toContain('CLAUDE_CREDS_SECRET in my environment');
    expect(output).toMatch(/\.credentials\.json: valid/);
  }, 70_000);

  test.each([
    ['on a terminal: colour', {}, true],
    ['on a terminal with NO_COLOR: none', { NO_COLOR: '1' }, false],
  ])('%s', (_name, env, colour) => {
    const result = spawnSync('script', ['-qec', `'${process.execPath}' '${DEMO}'`, '/dev/null'], { env: cliEnv(guarded(env)), encoding: 'utf8', timeout: 60_000 });
    const output = remember(result.stdout);
    expect(result.status, output).toBe(0);
    expect(output.includes('\u001b[')).toBe(colour);
  }, 70_000);
});
