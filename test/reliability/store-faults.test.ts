import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import type { FaultKind } from '../fakes/faults.js';
import { fatalMessage, runCli, type CliResult } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { closedPort, figure } from './support.js';

/**
 * fetch against the AWS fake with scripted faults: what is worth retrying is retried within --timeout,
 * what is not ends at once with a message naming what to fix, and a dead or silent store ends with a
 * clear error close to --timeout, not long after it.
 */
describe('fetch when the store fails', () => {
  let fake: RunningFakeAws;
  const tempDir = useTempDir();
  let counter = 0;

  beforeAll(async () => {
    fake = await startFakeAws();
  });
  afterAll(async () => {
    await fake.close();
  });

  const seeded = (): string => {
    const name = `reliability-${(counter += 1)}`;
    fake.store.addVersion(fake.storeKey(name), makeFakeCredentials().json);
    return name;
  };

  async function timedFetch(args: string[], timeout: string): Promise<{ result: CliResult; ms: number; out: string }> {
    const out = join(tempDir(), '.credentials.json');
    const started = Date.now();
    const result = await runCli(['fetch', ...args, '--timeout', timeout, '--out', out], { env: { ...fake.cliEnv }, timeoutMs: 30_000 });
    return { result, ms: Date.now() - started, out };
  }

  test.each<[FaultKind, number]>([
    ['throttle', 3],
    ['unavailable', 3],
    ['internal', 2],
    ['reset', 2],
  ])('%s on the first %i reads is retried with backoff and the fetch succeeds', async (kind, failures) => {
    const name = seeded();
    fake.faults.reset();
    fake.faults.failNext(failures, kind, 'GetSecretValue');
    const { result, ms, out } = await timedFetch([...fake.cliArgs, '--secret', name], '20s');
    expect(result.code, result.stderr).toBe(0);
    expect(fake.faults.count('GetSecretValue')).toBe(failures + 1);
    expect(result.stderr.match(/store read failed; retrying/g)).toHaveLength(failures);
    expect(readFileSync(out, 'utf8')).toBe(fake.store.get(fake.storeKey(name))?.versions.at(-1)?.value);
    figure(`store faults: ${kind} x${failures}`, { attempts: failures + 1, faults_injected: failures, exit: result.code ?? 'signal', ms, timeout_ms: 20_000 });
  });

  test.each<[string, number, FaultKind | 'bad-arn', RegExp]>([
    ['access denied', 77, 'denied', /access denied to secretsmanager:GetSecretValue .*grant secretsmanager:GetSecretValue/],
    ['not found', 66, 'not-found', /AWS secret "reliability-\d+" in us-east-1 was not found; check --secret and --region/],
    ['a malformed secret ARN', 78, 'bad-arn', /--secret arn:aws:secretsmanager:bogus is not a Secrets Manager ARN/],
  ])('%s is not retried: exit %i at once naming what to fix', async (label, exitCode, fault, message) => {
    const name = seeded();
    fake.faults.reset();
    if (fault !== 'bad-arn') fake.faults.failNext(1, fault, 'GetSecretValue');
    const secret = fault === 'bad-arn' ? 'arn:aws:secretsmanager:bogus' : name;
    const { result, ms } = await timedFetch([...fake.cliArgs, '--secret', secret], '20s');
    expect(result.code).toBe(exitCode);
    expect(fatalMessage(result.stderr)).toMatch(message);
    expect(result.stderr).not.toMatch(/retrying/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fake.faults.count('GetSecretValue')).toBe(fault === 'bad-arn' ? 0 : 1);
    // "At once": far below the 20 s the retries would be allowed (process start and SDK load included).
    expect(ms).toBeLessThan(6_000);
    figure(`store faults: ${label}`, { attempts: fake.faults.count('GetSecretValue'), exit: result.code ?? 'signal', ms });
  });

  test('a store slower than --timeout ends with exit 69 close to the timeout', async () => {
    const name = seeded();
    fake.faults.reset();
    fake.faults.delay(6_000);
    const { result, ms } = await timedFetch([...fake.cliArgs, '--secret', name], '2s');
    const attempts = fake.faults.count('GetSecretValue');
    fake.faults.reset();
    expect(result.code).toBe(69);
    // One attempt is expected today: each attempt may use all the time left, so a silent store eats it.
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(fatalMessage(result.stderr)).toMatch(/^reading secretsmanager:us-east-1:reliability-\d+ still failing after \d+ attempts? in 2s: .*raise --timeout or check the store/);
    // The deadline bounds the whole fetch: 2 s of waiting plus process start, nowhere near the 6 s latency.
    expect(ms).toBeGreaterThanOrEqual(2_000);
    expect(ms).toBeLessThan(5_000);
    figure('store faults: latency 6 s > --timeout 2s', {
      attempts,
      exit: result.code ?? 'signal',
      ms,
      timeout_ms: 2_000,
    });
  });

  test('connection refused is retried until --timeout, then exit 69 with a clear error', async () => {
    const port = await closedPort();
    const { result, ms } = await timedFetch(['--provider', 'aws', '--region', 'us-east-1', '--endpoint', `http://127.0.0.1:${port}`, '--secret', 'x'], '3s');
    expect(result.code).toBe(69);
    const retries = result.stderr.match(/store read failed; retrying/g)?.length ?? 0;
    expect(retries).toBeGreaterThanOrEqual(2);
    expect(fatalMessage(result.stderr)).toMatch(/^reading secretsmanager:us-east-1:x still failing after \d+ attempts in 3s: .*ECONNREFUSED/);
    expect(ms).toBeLessThan(3_000 + 2_500);
    figure('store faults: connection refused', { attempts: retries + 1, exit: result.code ?? 'signal', ms, timeout_ms: 3_000 });
  });
});
