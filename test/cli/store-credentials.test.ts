/**
 * The identity claude-creds opens the store with never reaches the worker: for each provider, every
 * variable in STORE_CREDENTIAL_VARIABLES is set (the fake's real ones, dummies for the rest), the wrapper
 * reads the store with them, and the command's environment holds none; the log names what was withheld.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { STORE_CREDENTIAL_VARIABLES } from '../../src/core/config.js';
import type { ProviderName } from '../../src/core/provider.js';
import { startFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../fakes/azure-key-vault.js';
import { startFakeGcp } from '../fakes/gcp-secret-manager.js';
import { startFakeKubernetes } from '../fakes/kubernetes-api.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { startFakeVault } from '../fakes/vault.js';
import { logLines, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

const cases: Array<[ProviderName, () => Promise<RunningFake>]> = [
  ['aws', () => startFakeAws()],
  ['gcp', () => startFakeGcp()],
  ['azure', () => startFakeAzure()],
  ['vault', () => startFakeVault()],
  ['kubernetes', () => startFakeKubernetes()],
];

const UNSET: Readonly<Record<string, true>> = { AWS_PROFILE: true };

describe.each(cases)('the %s provider\'s store credentials', (name, start) => {
  const tempDir = useTempDir();
  let fake: RunningFake;
  beforeAll(async () => {
    fake = await start();
  });
  afterAll(async () => {
    await fake.close();
  });

  test('are read by claude-creds and withheld from the command, every one of them', async () => {
    const variables = STORE_CREDENTIAL_VARIABLES[name];
    expect(variables.length).toBeGreaterThan(0);
    fake.store.addVersion(fake.storeKey('withheld'), makeFakeCredentials().json);
    // The fake's own values where it sets them (the store must still open), dummies for the others;
    // not AWS_PROFILE, for which the AWS SDK would ignore the fake's keys (unit-tested in test/core).
    const dummies = Object.fromEntries(
      variables.filter((variable) => fake.cliEnv[variable] === undefined && !UNSET[variable]).map((variable) => [variable, `dummy-${variable.toLowerCase()}`]),
    );
    const expected = variables.filter((variable) => !UNSET[variable]);
    // --log-level info: the wrapper is quiet by default, and the line naming what was withheld is a step.
    const result = await runCli([...fake.cliArgs, '--secret', fake.secretRef('withheld'), '--timeout', '20s', '--log-level', 'info', '--', 'sh', '-c', 'env | cut -d= -f1'], {
      env: { ...dummies, ...fake.cliEnv, CLAUDE_CONFIG_DIR: tempDir(), KEEP_ME: '1' },
    });
    expect(result.code, result.stderr).toBe(0);
    const seen = result.stdout.trim().split('\n');
    expect(seen).toContain('KEEP_ME');
    expect(seen.filter((variable) => variables.includes(variable))).toEqual([]);
    const withheld = logLines(result.stderr).find((line) => Array.isArray(line.withheld))?.withheld as string[] | undefined;
    expect([...(withheld ?? [])].sort()).toEqual([...expected].sort());
  });
});
