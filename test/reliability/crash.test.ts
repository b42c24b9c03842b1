import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { bundleWriterChild, figure, inPool } from './support.js';
import { claimedWrite, writeContent } from './write-content.js';

const TRIALS = 100;
/** Two lanes on two cores; each lane keeps crashing into its own directory, as one container would. */
const LANES = 2;
const TEMP_MARK = '.claude-creds-';

interface TrialResult {
  readonly outcome: 'initial' | 'new';
  /** Temp files this crash added (killed between creating the temp file and renaming it). */
  readonly newTemps: number;
  readonly killedAfterMs: number;
}

/** Starts a writer, waits for its "go", SIGKILLs it after a random 0-100 ms, and returns once it is dead. */
function crashOnce(child: string, target: string, trial: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const writer = spawn(process.execPath, [child, 'crash', target, String(trial)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let killedAfterMs = -1;
    writer.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    writer.stdout.once('data', () => {
      killedAfterMs = Math.floor(Math.random() * 100);
      setTimeout(() => writer.kill('SIGKILL'), killedAfterMs);
    });
    const guard = setTimeout(() => writer.kill('SIGKILL'), 5_000);
    writer.on('error', reject);
    writer.on('close', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer ended by itself (code ${String(code)}): ${stderr}`));
      else resolve(killedAfterMs);
    });
  });
}

const tempsIn = (dir: string): string[] => readdirSync(dir).filter((name) => name.includes(TEMP_MARK));

describe('a writer killed with SIGKILL at random points', () => {
  let work: string;
  let child: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'claude-creds-crash-'));
    child = await bundleWriterChild(work);
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  test(`leaves the target with the old or a new complete content in ${TRIALS} trials, and a later run removes the leftovers`, async () => {
    const started = Date.now();
    const dirs = Array.from({ length: LANES }, (_, lane) => join(work, `lane-${lane}`));
    const initial = '{"initial":true}';
    for (const dir of dirs) {
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, '.credentials.json'), initial, { mode: 0o600 });
    }
    const lanes = await inPool(dirs, LANES, async (dir, lane) => {
      const target = join(dir, '.credentials.json');
      const results: TrialResult[] = [];
      let previous = initial;
      let temps = 0;
      for (let trial = lane + 1; trial <= TRIALS; trial += LANES) {
        const killedAfterMs = await crashOnce(child, target, trial);
        const text = readFileSync(target, 'utf8');
        const claim = claimedWrite(text);
        // Old content (what the previous trial left) or a complete write of this trial: nothing else.
        if (text !== previous) {
          expect(claim?.trial, `trial ${trial}: the target is neither the old content nor a write of this trial`).toBe(trial);
          expect(text === writeContent(trial, claim?.index ?? -1), `trial ${trial}: write ${claim?.index} is torn`).toBe(true);
        }
        const now = tempsIn(dir).length;
        expect(now - temps, `trial ${trial}: one writer left more than one temp file`).toBeLessThanOrEqual(1);
        results.push({ outcome: text === previous ? 'initial' : 'new', newTemps: now - temps, killedAfterMs });
        previous = text;
        temps = now;
      }
      return results;
    });
    const results = lanes.flat();
    expect(results).toHaveLength(TRIALS);

    // Leftovers stay (none is older than a minute yet, so none may be taken for a crashed writer's).
    const leftovers = dirs.map((dir) => tempsIn(dir).length);
    expect(leftovers.reduce((a, b) => a + b)).toBe(results.reduce((sum, result) => sum + result.newTemps, 0));

    // The next start (the real CLI, delivering the same credentials twice: the usual restart) removes
    // leftovers older than a minute and keeps a fresh one, which may belong to a live writer.
    const dir = dirs[0] as string;
    const aged = tempsIn(dir);
    const old = (Date.now() - 120_000) / 1000;
    for (const name of aged) utimesSync(join(dir, name), old, old);
    const fresh = `.credentials.json${TEMP_MARK}000000000000.tmp`;
    writeFileSync(join(dir, fresh), 'in flight', { mode: 0o600 });
    const creds = makeFakeCredentials();
    const target = join(dir, '.credentials.json');
    const first = await runCli(['fetch', '--force', '--out', target], { env: { CLAUDE_CREDENTIALS_B64: creds.base64 } });
    expect(first.code, first.stderr).toBe(0);
    expect(tempsIn(dir)).toEqual([fresh]);
    expect(readFileSync(target, 'utf8')).toBe(creds.json);

    // Lane 2: the restart finds identical content already in place, and still cleans up.
    const dir2 = dirs[1] as string;
    const target2 = join(dir2, '.credentials.json');
    writeFileSync(target2, creds.json, { mode: 0o600 });
    for (const name of tempsIn(dir2)) utimesSync(join(dir2, name), old, old);
    const leftoversBefore = tempsIn(dir2).length;
    const again = await runCli(['fetch', '--out', target2], { env: { CLAUDE_CREDENTIALS_B64: creds.base64 } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('credentials already up to date');
    expect(tempsIn(dir2)).toEqual([]);

    const killTimes = results.map((result) => result.killedAfterMs);
    figure('crash: SIGKILL during atomic write', {
      trials: results.length,
      kill_after_go_ms: `${Math.min(...killTimes)}-${Math.max(...killTimes)}`,
      target_old: results.filter((result) => result.outcome === 'initial').length,
      target_new_complete: results.filter((result) => result.outcome === 'new').length,
      torn: 0,
      crashes_leaving_a_temp: results.filter((result) => result.newTemps > 0).length,
      removed_by_next_run: `${aged.length}+${leftoversBefore}`,
      fresh_temp_kept: true,
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
  }, 60_000);
});
