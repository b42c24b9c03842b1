import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeGcp, type RunningFakeGcp } from '../fakes/gcp-secret-manager.js';
import { logLines, runCli, type CliOptions, fatalMessage } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';

/** `--gcp-keep-versions` / CLAUDE_CREDS_GCP_KEEP_VERSIONS through the real CLI, against the GCP fake. */
describe('push --gcp-keep-versions', () => {
  let fake: RunningFakeGcp;
  const tempDir = useTempDir();
  let counter = 0;

  beforeAll(async () => {
    fake = await startFakeGcp();
  });
  afterAll(async () => {
    await fake.close();
  });

  /** A secret with `versions` older logins, and a newer login in a file to push. */
  function setup(versions: number): { name: string; from: string } {
    const name = `keep-${(counter += 1)}`;
    for (let i = 0; i < versions; i += 1) fake.store.addVersion(fake.storeKey(name), makeFakeCredentials({ expiresAt: Date.now() + 3600_000 + i }).json);
    const from = join(tempDir(), 'login.json');
    writeFileSync(from, makeFakeCredentials({ expiresAt: Date.now() + 8 * 3600_000 }).json);
    return { name, from };
  }
  const push = (name: string, from: string, args: string[] = [], options: CliOptions = {}) =>
    runCli(['push', ...fake.cliArgs, '--secret', fake.secretRef(name), '--from', from, '--timeout', '20s', ...args], {
      ...options,
      env: { ...fake.cliEnv, ...options.env },
    });

  test.each<[string, string[], Record<string, string>, string[]]>([
    ['the default keeps 10', [], {}, [...Array(3).fill('DESTROYED'), ...Array(10).fill('ENABLED')]],
    ['--gcp-keep-versions 2 keeps 2', ['--gcp-keep-versions', '2'], {}, [...Array(11).fill('DESTROYED'), 'ENABLED', 'ENABLED']],
    ['CLAUDE_CREDS_GCP_KEEP_VERSIONS=off keeps all', [], { CLAUDE_CREDS_GCP_KEEP_VERSIONS: 'off' }, Array(13).fill('ENABLED')],
  ])('%s', async (_label, args, env, states) => {
    const { name, from } = setup(12);

    const result = await push(name, from, args, { env });

    expect(result.code, result.stderr).toBe(0);
    expect(fake.versionStates(name)).toEqual(states);
  });

  test('without the permission to destroy, the push lands, exit 0, with one warning naming the role', async () => {
    const { name, from } = setup(11);
    fake.faults.failNext(100, 'denied', 'DestroySecretVersion');
    try {
      const result = await push(name, from);
      expect(result.code, result.stderr).toBe(0);
      const warnings = logLines(result.stderr).filter((line) => line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0]?.msg)).toMatch(/roles\/secretmanager\.secretVersionManager .*--gcp-keep-versions off/);
      expect(fake.store.latest(fake.storeKey(name))?.number).toBe(12);
    } finally {
      fake.faults.reset();
    }
  });

  test.each<[string, number, RegExp]>([
    ['ten', 64, /--gcp-keep-versions takes a number of versions to keep or off, not "ten"/],
    ['0', 78, /--gcp-keep-versions 0: give a whole number from 1 to 1000, or off/],
  ])('--gcp-keep-versions %s is refused (exit %i) before anything is written', async (value, code, message) => {
    const { name, from } = setup(1);

    const result = await push(name, from, ['--gcp-keep-versions', value]);

    expect(result.code).toBe(code);
    expect(fatalMessage(result.stderr)).toMatch(message);
    expect(fake.store.get(fake.storeKey(name))?.versions).toHaveLength(1);
  });
});
