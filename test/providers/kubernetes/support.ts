import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Provider, ProviderConfig } from '../../../src/core/provider.js';
import { createKubernetesProvider, type KubernetesProviderDeps } from '../../../src/providers/kubernetes/index.js';
import { startFakeKubernetes, type FakeKubernetesOptions, type RunningFakeKubernetes } from '../../fakes/kubernetes-api.js';
import type { FakeCredentials } from '../../support/fake-credentials.js';
import { assertNoLeaks } from '../../support/leak-check.js';

/**
 * What the kubernetes provider tests share: one fake API server per file (reset before each test),
 * providers closed after each test, unique Secret names, and the leak check for every error.
 */
export function useFakeKubernetes(options: FakeKubernetesOptions = {}) {
  let fake: RunningFakeKubernetes | undefined;
  const providers: Provider[] = [];
  const extras: RunningFakeKubernetes[] = [];
  let counter = 0;

  beforeAll(async () => {
    fake = await startFakeKubernetes(options);
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    current().faults.reset();
    current().serveHuge(undefined);
    current().grant(current().serviceAccountUser, { get: ['*'], update: ['*'], create: true });
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((provider) => provider.close?.()));
    await Promise.all(extras.splice(0).map((extra) => extra.close()));
  });

  const current = (): RunningFakeKubernetes => {
    if (fake === undefined) throw new Error('the fake API server is not running');
    return fake;
  };

  return {
    fake: current,
    uniqueName: () => `claude-credentials-${(counter += 1)}`,
    /** Another fake for this test only (closed after it). */
    async extraFake(extraOptions: FakeKubernetesOptions = {}): Promise<RunningFakeKubernetes> {
      const started = await startFakeKubernetes(extraOptions);
      extras.push(started);
      return started;
    },
    /** A provider for `name` on the fake (in-cluster by default), with config and env overrides. */
    async providerFor(name: string, overrides: Partial<ProviderConfig> = {}, deps: KubernetesProviderDeps = {}, on: RunningFakeKubernetes = current()): Promise<Provider> {
      const base = on.providerConfig(name);
      const provider = await createKubernetesProvider({ ...base, ...overrides, env: { ...base.env, ...overrides.env } }, deps);
      providers.push(provider);
      return provider;
    },
  };
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

/** No credentials token, service account token or client key in the message or stack. */
export function expectNoLeak(error: Error, fake: RunningFakeKubernetes, creds: readonly FakeCredentials[] = []): void {
  const text = `${error.message}\n${String(error.stack)}`;
  assertNoLeaks(error.message, text, [...creds.flatMap((c) => c.tokens)]);
  for (const secret of fake.secrets) {
    const middle = secret.slice(Math.floor(secret.length / 2), Math.floor(secret.length / 2) + 24);
    if (text.includes(secret) || text.includes(middle)) throw new Error(`a fake Kubernetes credential leaked into: ${error.message}`);
  }
}
