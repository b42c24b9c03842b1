import { beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RunningFakeAzure } from '../../fakes/azure-key-vault.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { SECRET, seed, useAzureFake } from './support.js';

const azureFake = useAzureFake();
let fake: RunningFakeAzure;
beforeAll(() => {
  fake = azureFake();
});

describe('azure provider: the real DefaultAzureCredential in a separate process', () => {
  const azureModule = pathToFileURL(fileURLToPath(new URL('../../../src/providers/azure/index.ts', import.meta.url))).href;
  const guard = fileURLToPath(new URL('../../support/loopback-guard.mjs', import.meta.url));
  // What a claude-creds process would do with cliArgs/cliEnv: build the provider from its environment, read, write.
  const script = `
    const { createAzureProvider } = await import(${JSON.stringify(azureModule)});
    const input = JSON.parse(process.env.AZURE_TEST_INPUT);
    try {
      const provider = await createAzureProvider({ ...input.config, env: { ...process.env } });
      const read = await provider.read();
      const written = await provider.write({ payload: input.payload, expectedVersion: read.version });
      process.stdout.write(JSON.stringify({ read: read.version, written: written.version }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: error.name, message: error.message }));
    }
  `;

  async function runChild(env: Record<string, string>, payload: string): Promise<Record<string, string>> {
    const config = { ...fake.providerConfig(SECRET), env: {} };
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', guard, '--input-type=module', '--eval', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: {
        PATH: process.env.PATH ?? '',
        CLAUDE_CREDS_GUARD_LOG: process.env.CLAUDE_CREDS_GUARD_LOG ?? '',
        ...env,
        AZURE_TEST_INPUT: JSON.stringify({ config, payload }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr, `child stderr (exit ${String(code)})`).not.toMatch(/loopback-guard|Error/);
    return JSON.parse(stdout) as Record<string, string>;
  }

  test('gets a token from the fake Entra ID endpoints with the service principal from cliEnv, then reads and writes', async () => {
    const original = seed(makeFakeCredentials().json);
    const next = makeFakeCredentials();
    const tokensBefore = fake.tokenRequests.length;
    const requestsBefore = fake.requests.length;

    const result = await runChild(fake.cliEnv, next.json);

    expect(result).toEqual({ read: original, written: fake.store.latest(SECRET)?.id });
    expect(fake.store.latest(SECRET)?.value).toBe(next.json);
    const tokenRequests = fake.tokenRequests.slice(tokensBefore);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]).toMatchObject({
      tenant: fake.tenantId,
      clientId: fake.clientId,
      grantType: 'client_credentials',
      proof: 'client_secret',
      scope: expect.stringContaining('https://vault.localhost/.default'),
    });
    const issued = tokenRequests[0]?.issued;
    expect(issued).toMatch(/^fake-entra-token-/);
    const vaultCalls = fake.requests.slice(requestsBefore).filter((r) => r.operation !== 'openidConfiguration' && r.operation !== 'token');
    expect(vaultCalls.map((r) => [r.operation, r.bearer === issued])).toEqual([
      ['challenge', false],
      ['getSecret', true],
      ['getSecret', true],
      ['setSecret', true],
      ['getSecret', true],
      ['getSecretVersions', true],
    ]);
  });

  test('finds a Workload Identity (AKS) through the whole default chain, with no service principal in the environment', async () => {
    // No AZURE_TOKEN_CREDENTIALS: EnvironmentCredential is skipped, WorkloadIdentityCredential answers, and
    // the loopback guard would catch any probe of IMDS by the managed-identity step.
    const creds = makeFakeCredentials();
    const original = seed(makeFakeCredentials().json);
    const dir = await mkdtemp(join(tmpdir(), 'claude-creds-azure-wi-'));
    const tokenFile = join(dir, 'azure-identity-token');
    await writeFile(tokenFile, fake.federatedToken);
    const { AZURE_CLIENT_SECRET: _secret, AZURE_TOKEN_CREDENTIALS: _pinned, ...base } = fake.cliEnv;
    const tokensBefore = fake.tokenRequests.length;
    try {
      const result = await runChild({ ...base, AZURE_FEDERATED_TOKEN_FILE: tokenFile }, creds.json);

      expect(result).toEqual({ read: original, written: fake.store.latest(SECRET)?.id });
      expect(fake.tokenRequests.slice(tokensBefore)).toEqual([
        expect.objectContaining({ clientId: fake.clientId, proof: 'client_assertion', issued: expect.any(String) }),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a wrong client secret is a PermissionDeniedError that explains the credential chain and shows no secret', async () => {
    seed(makeFakeCredentials().json);
    const next = makeFakeCredentials();
    const wrongSecret = 'wrong-client-secret-value';

    const result = await runChild({ ...fake.cliEnv, AZURE_CLIENT_SECRET: wrongSecret }, next.json);

    expect(result.error).toBe('PermissionDeniedError');
    expect(result.message).toContain('AZURE_CLIENT_SECRET');
    expect(result.message).toContain('AADSTS7000215');
    for (const value of [wrongSecret, fake.clientSecret, ...next.tokens]) expect(result.message).not.toContain(value);
  });
});
