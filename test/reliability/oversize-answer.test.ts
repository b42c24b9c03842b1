import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../fakes/azure-key-vault.js';
import { OVERSIZE_ANSWER_BYTES } from '../fakes/faults.js';
import { startFakeGcp } from '../fakes/gcp-secret-manager.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { startFakeVault } from '../fakes/vault.js';
import { buildBundle, BUNDLE_ENTRY, type Build } from '../ship/ship-support.js';
import { GUARD, runProcess, type CliResult } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { figure } from './support.js';

/**
 * A hostile or broken store answers a read with 100 MiB. claude-creds must stop reading at its limit,
 * exit 65 (the payload is not a credentials file) and stay small while doing it: the peak RSS of the real
 * CLI process, from a preload that reports VmHWM at exit (test/support/report-peak-rss.mjs).
 *
 * The CLI runs as it ships, the bundle from scripts/build.mjs under plain node: under tsx the transpiler
 * alone takes the azure and gcp CLIs past 100 MB before any answer arrives (measured: ~104 and ~119 MB
 * for a normal fetch), which would hide what the answer itself costs.
 */
const RSS_PRELOAD = fileURLToPath(new URL('../support/report-peak-rss.mjs', import.meta.url));
const RSS_LIMIT_MB = 100;

const fakes: Array<[string, () => Promise<RunningFake>, string]> = [
  ['aws', () => startFakeAws(), 'GetSecretValue'],
  ['gcp', () => startFakeGcp(), 'AccessSecretVersion'],
  ['azure', () => startFakeAzure(), 'getSecret'],
  ['vault', () => startFakeVault(), 'kv-read'],
];

let build: Build;
beforeAll(() => {
  build = buildBundle();
});
afterAll(() => build?.remove());

describe.each(fakes)('a 100 MiB answer from the %s store', (name, start, readOperation) => {
  let fake: RunningFake;
  const tempDir = useTempDir();

  beforeAll(async () => {
    fake = await start();
    fake.store.addVersion(fake.storeKey('oversize'), makeFakeCredentials().json);
  });
  afterAll(async () => {
    await fake.close();
  });

  async function fetchMeasured(): Promise<{ result: CliResult; peakRssMb: number; ms: number }> {
    const dir = tempDir();
    const rssFile = join(dir, 'rss');
    const started = Date.now();
    const args = ['fetch', ...fake.cliArgs, '--secret', fake.secretRef('oversize'), '--out', join(dir, '.credentials.json'), '--timeout', '20s'];
    const result = await runProcess(process.execPath, ['--import', GUARD, '--import', RSS_PRELOAD, join(build.dist, BUNDLE_ENTRY), ...args], `bundle ${args.join(' ')}`, {
      env: { ...fake.cliEnv, CLAUDE_CREDS_PEAK_RSS_FILE: rssFile },
      timeoutMs: 60_000,
    });
    const peakRssMb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : Number.NaN;
    return { result, peakRssMb, ms: Date.now() - started };
  }

  test('is refused with exit 65 while the CLI stays under 100 MB RSS', async () => {
    fake.faults.reset();
    const control = await fetchMeasured();
    expect(control.result.code, control.result.stderr).toBe(0);

    fake.faults.reset();
    fake.faults.answerNext(1, 'oversize', readOperation);
    const { result, peakRssMb, ms } = await fetchMeasured();
    figure(`100 MiB answer (${name})`, {
      exit: result.code ?? 'signal',
      peak_rss_mb: peakRssMb.toFixed(1),
      control_peak_rss_mb: control.peakRssMb.toFixed(1),
      answer_bytes: OVERSIZE_ANSWER_BYTES,
      ms,
    });

    expect(result.code, result.stderr).toBe(65);
    expect(result.stderr).toMatch(/over the \d+-byte limit|larger than/);
    expect(result.stderr).not.toMatch(/retrying/);
    expect(fake.faults.count(readOperation)).toBe(1);
    expect(peakRssMb).toBeLessThan(RSS_LIMIT_MB);
  }, 90_000);
});
