import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import type { RetryPolicy } from '../../../src/core/retry.js';
import { createGcpProvider } from '../../../src/providers/gcp/index.js';
import { startFakeGcp, type RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import type { FakeCredentials } from '../../support/fake-credentials.js';

/** What the gcp provider tests share: one fake per test file, a guard log of the file's own, helpers. */

export const SHORT_POLICY: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 10, maxDelayMs: 50, multiplier: 2 };
export const CALL = { timeoutMs: 5_000 };

let fake: RunningFakeGcp | undefined;
const open: Provider[] = [];
let counter = 0;

/** Starts the fake before the file's tests (and stops it after); returns a getter for it. */
export function useGcpFake(): () => RunningFakeGcp {
  let guardDir = '';
  let suiteGuardLog: string | undefined;
  beforeAll(async () => {
    fake = await startFakeGcp();
    // Violations in this file go to a log of its own, checked in afterAll (and passed on to the run's log),
    // so a metadata probe by the GCP client fails this file by name, not only the run at teardown.
    guardDir = mkdtempSync(join(tmpdir(), 'gcp-guard-'));
    suiteGuardLog = process.env.CLAUDE_CREDS_GUARD_LOG;
    process.env.CLAUDE_CREDS_GUARD_LOG = join(guardDir, 'violations.log');
  });
  afterEach(async () => {
    running().faults.reset();
    running().setCrcMode('correct');
    await Promise.all(open.splice(0).map((provider) => provider.close?.()));
  });
  afterAll(async () => {
    await fake?.close();
    let violations = '';
    try {
      violations = readFileSync(join(guardDir, 'violations.log'), 'utf8');
    } catch {
      // no file: nothing was blocked
    }
    process.env.CLAUDE_CREDS_GUARD_LOG = suiteGuardLog;
    if (violations !== '' && suiteGuardLog) appendFileSync(suiteGuardLog, violations);
    rmSync(guardDir, { recursive: true, force: true });
    expect(violations, 'the GCP client reached for a non-loopback address (metadata server?)').toBe('');
  });
  return running;
}

function running(): RunningFakeGcp {
  if (fake === undefined) throw new Error('useGcpFake() has not started the fake yet');
  return fake;
}

/** A fresh secret per test, so tests never see each other's versions. */
export const freshName = (): string => `claude-creds-${++counter}`;

export async function gcp(secretName: string, overrides: Partial<ProviderConfig> = {}): Promise<Provider> {
  const provider = await createGcpProvider({ ...running().providerConfig(secretName), ...overrides });
  open.push(provider);
  return provider;
}

export function seed(secretName: string, ...values: string[]): void {
  for (const value of values) running().store.addVersion(running().storeKey(secretName), value);
}

export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, got a result');
}

/** Neither the message nor the stack of an error may quote a token or a whole payload. */
export function expectNoSecrets(error: Error, ...credentials: FakeCredentials[]): void {
  const shown = `${error.message}\n${error.stack ?? ''}`;
  for (const creds of credentials) {
    for (const value of [...creds.tokens, creds.json, creds.base64]) expect(shown).not.toContain(value);
  }
}
