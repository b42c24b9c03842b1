import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../fakes/azure-key-vault.js';
import { startFakeGcp } from '../fakes/gcp-secret-manager.js';
import type { AnswerFault } from '../fakes/faults.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { startFakeVault } from '../fakes/vault.js';
import { runCli, type CliResult } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { figure } from './support.js';

/**
 * A store answer cut off on the way (the headers promise more than arrives before the connection
 * closes) is the store being unavailable, not a configuration problem: retried within --timeout, and
 * exit 69 when it never comes whole.
 */
const fakes: Array<[string, () => Promise<RunningFake>, string]> = [
  ['aws', () => startFakeAws(), 'GetSecretValue'],
  ['gcp', () => startFakeGcp(), 'AccessSecretVersion'],
  ['azure', () => startFakeAzure(), 'getSecret'],
  ['vault', () => startFakeVault(), 'kv-read'],
];

describe.each(fakes)('a truncated answer from the %s store', (name, start, readOperation) => {
  let fake: RunningFake;
  const tempDir = useTempDir();

  beforeAll(async () => {
    fake = await start();
    fake.store.addVersion(fake.storeKey('truncated'), makeFakeCredentials().json);
  });
  afterAll(async () => {
    await fake.close();
  });

  async function fetch(timeout: string): Promise<{ result: CliResult; out: string; ms: number }> {
    const out = join(tempDir(), '.credentials.json');
    const started = Date.now();
    const result = await runCli(['fetch', ...fake.cliArgs, '--secret', fake.secretRef('truncated'), '--out', out, '--timeout', timeout], {
      env: { ...fake.cliEnv },
      timeoutMs: 30_000,
    });
    return { result, out, ms: Date.now() - started };
  }

  const kinds: Array<[string, AnswerFault]> = [
    ['cut off short of its announced length (Content-Length; gRPC frame length)', 'truncate'],
    ['cut off without a length (the body ends with the connection; gcp: as above)', 'truncate-unframed'],
  ];

  test.each(kinds)('%s is retried, and the fetch succeeds once an answer arrives whole', async (_label, kind) => {
    fake.faults.reset();
    fake.faults.answerNext(2, kind, readOperation);
    const { result, out } = await fetch('20s');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.match(/store read failed; retrying/g)).toHaveLength(2);
    expect(fake.faults.count(readOperation)).toBe(3);
    expect(readFileSync(out, 'utf8')).toBe(fake.store.latest(fake.storeKey('truncated'))?.value);
  });

  test.each(kinds)('%s ends with exit 69 (unavailable) at the deadline when every answer is cut off', async (_label, kind) => {
    fake.faults.reset();
    fake.faults.answerNext(1000, kind, readOperation);
    const { result, ms } = await fetch('3s');
    figure(`truncated answers (${name}, ${kind})`, { exit: result.code ?? 'signal', attempts: fake.faults.count(readOperation), ms });
    expect(result.code, result.stderr).toBe(69);
    expect(result.stderr).toMatch(/still failing after \d+ attempts in 3s/);
    expect(fake.faults.count(readOperation)).toBeGreaterThanOrEqual(2);
  });
});
