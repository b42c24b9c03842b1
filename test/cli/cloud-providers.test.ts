import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../fakes/azure-key-vault.js';
import { startFakeGcp } from '../fakes/gcp-secret-manager.js';
import { startFakeKubernetes } from '../fakes/kubernetes-api.js';
import { startFakeVault } from '../fakes/vault.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { fatalMessage, runCli, type CliOptions } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

/**
 * The real CLI, as a separate process, against each cloud fake: the same scenarios for every provider.
 */
interface CloudCase {
  readonly name: string;
  readonly start: () => Promise<RunningFake>;
  /** The npm package whose absence must give a clear error. */
  readonly sdkPackage: string;
  /** What a permission-denied message must name. */
  readonly permission: RegExp;
  /** The fake's name for the read call, as counted by its FaultInjector. */
  readonly readOperation: string;
}

const cases: CloudCase[] = [
  { name: 'aws', start: () => startFakeAws(), sdkPackage: '@aws-sdk/client-secrets-manager', permission: /secretsmanager:GetSecretValue/, readOperation: 'GetSecretValue' },
  { name: 'gcp', start: () => startFakeGcp(), sdkPackage: '@google-cloud/secret-manager', permission: /roles\/secretmanager\.secretAccessor/, readOperation: 'AccessSecretVersion' },
  { name: 'azure', start: () => startFakeAzure(), sdkPackage: '@azure/keyvault-secrets', permission: /Key Vault Secrets User/, readOperation: 'getSecret' },
  // No SDK: plain node:http(s). Hiding node:https is the vault provider's stripped-image case.
  { name: 'vault', start: () => startFakeVault(), sdkPackage: 'node:https', permission: /"read" on secret\/data\//, readOperation: 'kv-read' },
  // No SDK either; in-cluster configuration (service account directory, KUBERNETES_SERVICE_HOST/PORT).
  {
    name: 'kubernetes',
    start: () => startFakeKubernetes(),
    sdkPackage: 'node:https',
    permission: /cannot get secrets "claude-credentials-\d+" in namespace "claude" \(403 Forbidden\); grant it with: kubectl create role claude-creds --namespace claude --verb=get,update --resource=secrets --resource-name=claude-credentials-\d+/,
    readOperation: 'get-secret',
  },
];

const HIDE_MODULES = fileURLToPath(new URL('../support/hide-modules.mjs', import.meta.url));

describe.each(cases)('claude-creds with the $name provider against its local fake', ({ start, sdkPackage, permission, readOperation }) => {
  let fake: RunningFake;
  const tempDir = useTempDir();
  let counter = 0;
  const secretName = () => `claude-credentials-${(counter += 1)}`;
  /** Runs the CLI with the fake's flags, placed before any `--` so they are ours and not the command's. */
  const cli = (args: string[], options: CliOptions = {}) => {
    const split = args.includes('--') ? args.indexOf('--') : args.length;
    const full = [...args.slice(0, split), ...fake.cliArgs, '--timeout', '20s', ...args.slice(split)];
    return runCli(full, { ...options, env: { ...fake.cliEnv, ...options.env } });
  };

  beforeAll(async () => {
    fake = await start();
  });
  afterAll(async () => {
    await fake.close();
  });

  test('push, then fetch in another process, round-trips the credentials byte for byte', async () => {
    const dir = tempDir();
    const name = secretName();
    const login = makeFakeCredentials();
    writeFileSync(join(dir, 'login.json'), login.json);
    const pushed = await cli(['push', '--secret', fake.secretRef(name), '--from', join(dir, 'login.json')]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const out = join(dir, 'worker', '.credentials.json');
    const fetched = await cli(['fetch', '--secret', fake.secretRef(name), '--out', out]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(login.json);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  test('wraps a command: the credentials are in place when it starts', async () => {
    const dir = tempDir();
    const name = secretName();
    const login = makeFakeCredentials();
    fake.store.addVersion(fake.storeKey(name), login.json);
    const result = await cli(['--secret', fake.secretRef(name), '--', 'sh', '-c', 'stat -c %a "$CLAUDE_CONFIG_DIR/.credentials.json"'], {
      env: { CLAUDE_CONFIG_DIR: join(dir, 'cfg') },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('600');
    expect(readFileSync(join(dir, 'cfg', '.credentials.json'), 'utf8')).toBe(login.json);
  });

  test('a secret stored as base64 of the JSON is written as the JSON', async () => {
    const dir = tempDir();
    const name = secretName();
    const login = makeFakeCredentials();
    fake.store.addVersion(fake.storeKey(name), login.base64);
    const out = join(dir, 'c.json');
    const result = await cli(['fetch', '--secret', fake.secretRef(name), '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(login.json);
  });

  test('throttling on the first two reads is retried and the fetch succeeds', async () => {
    const dir = tempDir();
    const name = secretName();
    fake.store.addVersion(fake.storeKey(name), makeFakeCredentials().json);
    fake.faults.reset();
    fake.faults.failNext(2, 'throttle');
    const result = await cli(['fetch', '--secret', fake.secretRef(name), '--out', join(dir, 'c.json')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.match(/store read failed; retrying/g)).toHaveLength(2);
  });

  test('access denied ends at once with exit 77 naming the missing permission', async () => {
    const name = secretName();
    fake.store.addVersion(fake.storeKey(name), makeFakeCredentials().json);
    fake.faults.reset();
    fake.faults.failNext(1, 'denied');
    const result = await cli(['fetch', '--secret', fake.secretRef(name), '--out', join(tempDir(), 'c.json')]);
    expect(result.code).toBe(77);
    expect(fatalMessage(result.stderr)).toMatch(permission);
    expect(result.stderr).not.toMatch(/retrying/);
  });

  test('a secret that does not exist ends at once with exit 66 naming it', async () => {
    const name = secretName();
    fake.faults.reset();
    const result = await cli(['fetch', '--secret', fake.secretRef(name), '--out', join(tempDir(), 'c.json')]);
    expect(result.code).toBe(66);
    expect(fatalMessage(result.stderr)).toContain(name);
    expect(fake.faults.count(readOperation)).toBe(1);
  });

  test('an SDK that cannot be loaded is exit 69 naming the package', async () => {
    const result = await cli(['fetch', '--secret', fake.secretRef('x'), '--out', join(tempDir(), 'c.json')], {
      nodeArgs: ['--import', HIDE_MODULES],
      env: { HIDE_MODULES: sdkPackage },
    });
    expect(result.code).toBe(69);
    expect(fatalMessage(result.stderr)).toContain(sdkPackage);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
