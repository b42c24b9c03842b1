import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import { logLines, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { closedPort, figure } from './support.js';

type LocalState = 'valid' | 'expired' | 'blanked' | 'missing';
type Store = 'refused' | 'throttled' | 'denied' | 'not-found' | 'bad-arn' | 'invalid-payload' | 'newer';

interface Case {
  readonly name: string;
  readonly store: Store;
  readonly local: LocalState;
  readonly flag: 'flag' | 'env' | 'none';
  readonly exit: number;
  /** What the local file holds afterwards. */
  readonly after: 'unchanged' | 'store' | 'absent';
  readonly message: RegExp;
}

const KEPT = /the store is unavailable; keeping the existing local file \(--keep-existing\)/;

const cases: Case[] = [
  { name: 'store unreachable, valid local file: kept, warning, exit 0', store: 'refused', local: 'valid', flag: 'flag', exit: 0, after: 'unchanged', message: KEPT },
  { name: 'the same through CLAUDE_CREDS_KEEP_EXISTING', store: 'refused', local: 'valid', flag: 'env', exit: 0, after: 'unchanged', message: KEPT },
  { name: 'store throttling until --timeout, valid local file: kept', store: 'throttled', local: 'valid', flag: 'flag', exit: 0, after: 'unchanged', message: KEPT },
  { name: 'store unreachable without --keep-existing: exit 69', store: 'refused', local: 'valid', flag: 'none', exit: 69, after: 'unchanged', message: /still failing after/ },
  { name: 'store unreachable, expired local file: exit 69', store: 'refused', local: 'expired', flag: 'flag', exit: 69, after: 'unchanged', message: /local access token has expired; not keeping it/ },
  { name: 'store unreachable, blanked local file: exit 69', store: 'refused', local: 'blanked', flag: 'flag', exit: 69, after: 'unchanged', message: /no valid local file to keep/ },
  { name: 'store unreachable, no local file: exit 69, nothing created', store: 'refused', local: 'missing', flag: 'flag', exit: 69, after: 'absent', message: /no valid local file to keep/ },
  { name: 'access denied is not masked: exit 77', store: 'denied', local: 'valid', flag: 'flag', exit: 77, after: 'unchanged', message: /access denied to secretsmanager:GetSecretValue/ },
  { name: 'a missing secret is not masked: exit 66', store: 'not-found', local: 'valid', flag: 'flag', exit: 66, after: 'unchanged', message: /was not found/ },
  { name: 'bad configuration is not masked: exit 78', store: 'bad-arn', local: 'valid', flag: 'flag', exit: 78, after: 'unchanged', message: /is not a Secrets Manager ARN/ },
  { name: 'an invalid payload is not masked: exit 65', store: 'invalid-payload', local: 'valid', flag: 'flag', exit: 65, after: 'unchanged', message: /credentials payload is not valid JSON/ },
  { name: 'a reachable store still updates the file', store: 'newer', local: 'valid', flag: 'flag', exit: 0, after: 'store', message: /credentials written/ },
];

/** fetch --keep-existing through the real CLI, one process per branch; the branches run side by side. */
describe('fetch --keep-existing', () => {
  let work: string;
  let healthy: RunningFakeAws;
  let denying: RunningFakeAws;
  let throttling: RunningFakeAws;
  let refusedEndpoint: string;
  const storeCredentials = makeFakeCredentials({ expiresAt: Date.now() + 10 * 3600_000 });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'claude-creds-keep-'));
    // One fake per behaviour, since the branches run concurrently and faults are per fake.
    healthy = await startFakeAws();
    denying = await startFakeAws({ denyOperations: ['GetSecretValue'] });
    throttling = await startFakeAws();
    throttling.faults.failRandomly(1, 'throttle');
    for (const fake of [healthy, denying, throttling]) fake.store.addVersion(fake.storeKey('claude'), storeCredentials.json);
    refusedEndpoint = `http://127.0.0.1:${await closedPort()}`;
  });
  afterAll(async () => {
    await Promise.all([healthy.close(), denying.close(), throttling.close()]);
    rmSync(work, { recursive: true, force: true });
  });

  function storeArgs(store: Store): { args: string[]; env: Record<string, string> } {
    const aws = (fake: RunningFakeAws, secret = 'claude') => ({ args: [...fake.cliArgs, '--secret', secret], env: { ...fake.cliEnv } });
    switch (store) {
      case 'refused':
        return { args: ['--provider', 'aws', '--region', 'us-east-1', '--endpoint', refusedEndpoint, '--secret', 'claude'], env: { ...healthy.cliEnv } };
      case 'throttled':
        return aws(throttling);
      case 'denied':
        return aws(denying);
      case 'not-found':
        return aws(healthy, 'no-such-secret');
      case 'bad-arn':
        return aws(healthy, 'arn:aws:secretsmanager:bogus');
      case 'invalid-payload':
        return { args: ['--provider', 'env'], env: { CLAUDE_CREDENTIALS_JSON: '{"claudeAiOauth":' } };
      case 'newer':
        return aws(healthy);
    }
  }

  function localText(state: LocalState): string | undefined {
    switch (state) {
      case 'valid':
        return makeFakeCredentials({ expiresAt: Date.now() + 3600_000 }).json;
      case 'expired':
        return makeFakeCredentials({ expiresAt: Date.now() - 60_000 }).json;
      case 'blanked':
        return JSON.stringify({ claudeAiOauth: { accessToken: '', refreshToken: '', expiresAt: Date.now() + 3600_000 } });
      case 'missing':
        return undefined;
    }
  }

  test.concurrent.each(cases)('$name', async ({ name, store, local, flag, exit, after, message }) => {
    const dir = mkdtempSync(join(work, 'case-'));
    const out = join(dir, '.credentials.json');
    const before = localText(local);
    if (before !== undefined) writeFileSync(out, before, { mode: 0o600 });
    const { args, env } = storeArgs(store);
    const flagArgs = flag === 'flag' ? ['--keep-existing'] : [];
    const flagEnv = flag === 'env' ? { CLAUDE_CREDS_KEEP_EXISTING: 'true' } : {};
    const started = Date.now();
    const result = await runCli(['fetch', ...flagArgs, ...args, '--timeout', '1s', '--out', out], { env: { ...env, ...flagEnv } });
    const ms = Date.now() - started;

    expect(result.code, result.stderr).toBe(exit);
    expect(result.stderr).toMatch(message);
    if (after === 'unchanged') expect(readFileSync(out, 'utf8')).toBe(before);
    if (after === 'store') expect(readFileSync(out, 'utf8')).toBe(storeCredentials.json);
    if (after === 'absent') expect(existsSync(out)).toBe(false);
    if (exit === 0 && after === 'unchanged') {
      const warning = logLines(result.stderr).find((line) => KEPT.test(String(line.msg)));
      expect(warning).toMatchObject({ level: 40, path: out });
    }
    figure(`keep-existing: ${name}`, { store, local, exit: result.code ?? 'signal', file: after, ms });
  });

  test('run --keep-existing starts the command with the kept file when the store is down', async () => {
    const dir = mkdtempSync(join(work, 'run-'));
    const out = join(dir, '.credentials.json');
    const before = localText('valid') as string;
    writeFileSync(out, before, { mode: 0o600 });
    const { args, env } = storeArgs('refused');
    const result = await runCli(['run', '--keep-existing', ...args, '--timeout', '1s', '--out', out, '--', 'sh', '-c', 'test -s "$0" && exit 7', out], { env });
    expect(result.code, result.stderr).toBe(7);
    expect(result.stderr).toMatch(KEPT);
    expect(readFileSync(out, 'utf8')).toBe(before);
  });
});
