import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import type { RetryPolicy } from '../../../src/core/retry.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { FAKE_AWS_ENV, startFakeAws, type RunningFakeAws } from '../../fakes/aws-secrets-manager.js';
import { makeFakeCredentials, type FakeCredentials } from '../../support/fake-credentials.js';

/** What the aws provider tests share: one fake per test file, an isolated SDK environment, helpers. */

export const FAST: RetryPolicy = { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };

// The SDK's default chain reads the process environment itself; give it the fake keys and nothing
// that could send it to a profile, a region or an endpoint of the developer's own.
const ISOLATED_KEYS = [
  ...Object.keys(FAKE_AWS_ENV),
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_SESSION_TOKEN',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];

let fake: RunningFakeAws | undefined;
const providers: Provider[] = [];
let counter = 0;

/** Starts the fake before the file's tests (and stops it after); returns a getter for it. */
export function useAwsFake(): () => RunningFakeAws {
  const savedEnv: Record<string, string | undefined> = {};
  beforeAll(async () => {
    for (const key of ISOLATED_KEYS) {
      savedEnv[key] = process.env[key];
      delete process.env[key];
    }
    Object.assign(process.env, FAKE_AWS_ENV);
    fake = await startFakeAws();
  });
  afterAll(async () => {
    await fake?.close();
    for (const key of ISOLATED_KEYS) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
  });
  beforeEach(() => running().faults.reset());
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close?.()));
  });
  return running;
}

function running(): RunningFakeAws {
  if (fake === undefined) throw new Error('useAwsFake() has not started the fake yet');
  return fake;
}

/** Closes `provider` after the test. */
export function track(provider: Provider): Provider {
  providers.push(provider);
  return provider;
}

export function uniqueName(): string {
  counter += 1;
  return `claude/creds-${counter}`;
}

export async function providerFor(secret: string, overrides: Partial<ProviderConfig> = {}): Promise<Provider> {
  return track(await createAwsProvider({ ...running().providerConfig(secret), ...overrides }));
}

/** A secret holding `creds`, and a provider pointed at it. */
export async function seeded(creds: FakeCredentials = makeFakeCredentials()) {
  const name = uniqueName();
  const first = running().store.addVersion(name, creds.json);
  return { name, first, creds, provider: await providerFor(name) };
}

export async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection');
}

export function expectNoLeak(error: Error, ...creds: FakeCredentials[]): void {
  const text = `${error.message}\n${String(error.stack)}`;
  for (const token of creds.flatMap((c) => c.tokens)) expect(text).not.toContain(token);
}

export function stagesOf(name: string): Record<string, string[]> {
  const versions = running().store.get(name)?.versions ?? [];
  return Object.fromEntries(versions.map((v) => [v.id, [...v.stages].sort()]));
}
