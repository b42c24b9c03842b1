import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchCredentials } from '../../src/commands/fetch.js';
import type { CommandContext } from '../../src/core/context.js';
import type { ProviderConfig } from '../../src/core/provider.js';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeOAuthServer, type FakeOAuthServer } from '../fakes/oauth-server.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { SimulatedClaudeCli } from '../support/simulated-claude-cli.js';
import { useTempDir } from '../support/temp-dir.js';

const HOUR = 3_600_000;
const context: CommandContext = { logger: pino({ level: 'silent' }), retry: { deadlineMs: 5000, initialDelayMs: 20, maxDelayMs: 200, multiplier: 2 }, now: Date.now };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const expiresAtIn = (path: string): number => (JSON.parse(readFileSync(path, 'utf8')) as { claudeAiOauth: { expiresAt: number } }).claudeAiOauth.expiresAt;

let oauth: FakeOAuthServer;
let aws: RunningFakeAws;
beforeAll(async () => {
  Object.assign(process.env, FAKE_AWS_ENV);
  oauth = await startFakeOAuthServer();
  aws = await startFakeAws();
});
afterAll(async () => {
  await oauth.close();
  await aws.close();
});

const tempDir = useTempDir('claude-creds-fetch-race-');

function fileStore(path: string): ProviderConfig {
  return { name: 'file', secret: path, region: undefined, endpoint: undefined, project: undefined, vaultUrl: undefined, caFile: undefined, env: {} };
}

describe('fetch against a Claude CLI refreshing the same file', () => {
  test('200 trials: fetch never puts the older store login over the one the CLI just refreshed', async () => {
    const dir = tempDir();
    let olderWon = 0;
    let cliRefreshed = 0;
    for (let trial = 0; trial < 200; trial += 1) {
      const configDir = join(dir, `t${trial}`);
      mkdirSync(configDir, { recursive: true });
      const login = oauth.issueLogin({ expiresInMs: 2 * 60_000 });
      const local = join(configDir, '.credentials.json');
      writeFileSync(local, login.json, { mode: 0o600 });
      const storePath = join(dir, `store-${trial}.json`);
      writeFileSync(storePath, login.json); // the store still holds the login the CLI is about to refresh
      const cli = new SimulatedClaudeCli({ configDir, tokenUrl: oauth.url, version: trial % 2 === 0 ? '2.1.332' : '2.1.197', timing: { retryBaseMs: 20, retryJitterMs: 30 } });
      await Promise.all([
        cli.request(),
        sleep(Math.random() * 8).then(() => fetchCredentials({ provider: { config: fileStore(storePath), reason: 'test' }, out: local, owner: undefined, force: false }, context)),
      ]);
      if (cli.counts.refreshed === 1) cliRefreshed += 1;
      if (expiresAtIn(local) === login.expiresAt) olderWon += 1;
    }
    console.log(`[fetch-race] 200 trials: the CLI refreshed in ${cliRefreshed}, the older store login replaced the refreshed one in ${olderWon}`);
    expect(cliRefreshed).toBe(200);
    expect(olderWon).toBe(0);
  }, 120_000);

  test('25 rounds of 20 simultaneous fetches while the store moves on: the file always ends on the newest login', async () => {
    const dir = tempDir();
    let olderRounds = 0;
    for (let round = 0; round < 25; round += 1) {
      const name = `race-${round}`;
      const key = aws.storeKey(name);
      const older = makeFakeCredentials({ expiresAt: Date.now() + HOUR });
      const newer = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
      aws.store.addVersion(key, older.json);
      aws.faults.reset();
      aws.faults.delay(0, 40); // answers come back in any order
      const local = join(dir, `r${round}`, '.credentials.json');
      const fetches = Array.from({ length: 20 }, (_, i) =>
        sleep(i < 10 ? Math.random() * 5 : 15 + Math.random() * 10).then(() =>
          fetchCredentials({ provider: { config: aws.providerConfig(name), reason: 'test' }, out: local, owner: undefined, force: false }, context),
        ),
      );
      await sleep(12);
      aws.store.addVersion(key, newer.json); // the later half reads this one
      await Promise.all(fetches);
      if (expiresAtIn(local) !== newer.expiresAt) olderRounds += 1;
    }
    aws.faults.reset();
    console.log(`[fetch-race] 25 rounds of 20 simultaneous fetches: ended on an older login in ${olderRounds}`);
    expect(olderRounds).toBe(0);
  }, 120_000);
});
