import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeOAuthServer, type FakeOAuthServer } from '../fakes/oauth-server.js';
import { useTempDir } from '../support/temp-dir.js';
import { HOUR, MINUTE, runFleet, type FleetReport, type FleetRun } from './fleet-support.js';

let aws: RunningFakeAws;
let oauth: FakeOAuthServer;
const reports: FleetReport[] = [];

beforeAll(async () => {
  Object.assign(process.env, FAKE_AWS_ENV);
  aws = await startFakeAws();
  oauth = await startFakeOAuthServer({ refreshTokenExpiresInSeconds: 20 * 24 * 3600 });
});
afterAll(async () => {
  await oauth.close();
  await aws.close();
  const total = (key: keyof FleetReport) => reports.reduce((sum, report) => sum + Number(report[key]), 0);
  console.log(
    `[fleet] ${reports.length} runs of 10 workers: token requests ${total('tokenRequests')} (per window: ${reports.map((r) => r.tokenRequests).join(',')}), ` +
      `invalid_grant ${total('invalidGrant')}, wiped files ${total('wipedFiles')}, stale refresh-token attempts ${total('staleRefreshTokenAttempts')}, ` +
      `rotated token seen in a file ${total('rotatedTokenInFile')}, expired-token requests ${total('staleAccessTokenRequests')} (${reports
        .map((r) => `${r.name}:${r.staleAccessTokenRequests}`)
        .join(' ')}), CLI requests ${total('cliRequests')}, CLI lock waits ${total('cliLockWaits')}, takeovers ${total('takeovers')}`,
  );
});

const tempDir = useTempDir('claude-creds-fleet-');

/** Start offsets (expiresAt - now) and token endpoint delays the fleet must survive with full worker copies. */
const OFFSETS: ReadonlyArray<readonly [string, number]> = [
  ['inside the CLI window (4m left)', 4 * MINUTE],
  ['already expired (1m ago)', -MINUTE],
  ['inside the refresh span, outside the CLI window (8m left)', 8 * MINUTE],
  ['at the refresh time (10m 2s left)', 10 * MINUTE + 2000],
];
const DELAYS = [0, 1500, 5000];

const RUNS: FleetRun[] = [
  ...OFFSETS.flatMap(([where, startOffsetMs]) =>
    DELAYS.map((endpointDelayMs) => ({ name: `${where}, endpoint ${endpointDelayMs} ms`, workers: 10, startOffsetMs, endpointDelayMs })),
  ),
  // Outside the span at start: the fleet runs on its full copies, strips them 30 s before the refresh, then refreshes.
  { name: 'outside the refresh span (10m 33s left), endpoint 3000 ms', workers: 10, startOffsetMs: 10 * MINUTE + 33_000, endpointDelayMs: 3000, maxMs: 50_000 },
];

describe('a fleet of 10 workers on one login, each a sidecar beside a simulated Claude CLI (2.1.332 and 2.1.197), full worker copies', () => {
  test.each(RUNS.map((run) => [run.name, run] as const))('%s: exactly one token request, no invalid_grant, no wiped file, no rotated token in any file', async (_name, run) => {
    const report = await runFleet(run, aws, oauth, tempDir());
    reports.push(report);
    console.log(`[fleet] ${JSON.stringify(report)}`);
    expect(report.converged).toBe(true);
    expect(report.tokenRequests).toBe(1);
    expect(report.accepted).toBe(1);
    expect(report.invalidGrant).toBe(0);
    expect(report.wipedFiles).toBe(0);
    expect(report.staleRefreshTokenAttempts).toBe(0);
    expect(report.rotatedTokenInFile).toBe(0);
    expect(report.takeovers).toBe(0);
  }, 60_000);

  test('the token endpoint refuses claude-creds: one worker\'s own CLI refreshes for the fleet, no invalid_grant, no wiped file', async () => {
    const report = await runFleet(
      { name: 'endpoint refuses claude-creds', workers: 10, startOffsetMs: 5 * MINUTE + 8000, endpointDelayMs: 200, endpointRefusesUs: true, maxMs: 40_000 },
      aws,
      oauth,
      tempDir(),
    );
    reports.push(report);
    console.log(`[fleet] ${JSON.stringify(report)}`);
    expect(report.converged).toBe(true);
    expect(report.refused).toBeGreaterThanOrEqual(1);
    expect(report.accepted).toBe(1);
    expect(report.fromClaudeCreds).toBe(report.refused);
    expect(report.invalidGrant).toBe(0);
    expect(report.wipedFiles).toBe(0);
    expect(report.rotatedTokenInFile).toBe(0);
  }, 60_000);

  test('one worker whose clock runs 24 h ahead: still one token request, and it never buries the live login', async () => {
    const report = await runFleet(
      { name: 'one worker 24 h ahead', workers: 10, startOffsetMs: 10 * MINUTE + 5000, endpointDelayMs: 500, skewed: { index: 3, leadMs: 24 * HOUR } },
      aws,
      oauth,
      tempDir(),
    );
    reports.push(report);
    console.log(`[fleet] ${JSON.stringify(report)}`);
    expect(report.converged).toBe(true);
    expect(report.tokenRequests).toBe(1);
    expect(report.invalidGrant).toBe(0);
    expect(report.wipedFiles).toBe(0);
    expect(report.rotatedTokenInFile).toBe(0);
  }, 45_000);
});
