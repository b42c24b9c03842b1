import { beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PermissionDeniedError } from '../../../src/core/errors.js';
import type { RunningFakeGcp } from '../../fakes/gcp-secret-manager.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { failure, freshName, gcp, seed, useGcpFake } from './support.js';

const gcpFake = useGcpFake();
let fake: RunningFakeGcp;
beforeAll(() => {
  fake = gcpFake();
});

describe('gcp provider: no ambient credentials lookups', () => {
  test('with GOOGLE_SDK_NODE_LOGGING on, a CLI-like process logs no request or payload', async () => {
    const name = freshName();
    const creds = makeFakeCredentials();
    seed(name, makeFakeCredentials().json);
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const script = `
      const { createGcpProvider } = await import(${JSON.stringify(join(root, 'src/providers/gcp/index.ts'))});
      const provider = await createGcpProvider(JSON.parse(process.env.GCP_TEST_CONFIG));
      const read = await provider.read({ timeoutMs: 5000 });
      const written = await provider.write({ payload: process.env.GCP_TEST_PAYLOAD, expectedVersion: read.version }, { timeoutMs: 5000 });
      await provider.close();
      process.stdout.write('wrote ' + written.version);
    `;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', join(root, 'test/support/loopback-guard.mjs'), '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        env: {
          ...process.env,
          ...fake.cliEnv,
          GOOGLE_SDK_NODE_LOGGING: 'secret-manager',
          GCP_TEST_CONFIG: JSON.stringify(fake.providerConfig(name)),
          GCP_TEST_PAYLOAD: creds.json,
        },
        timeout: 20_000,
      },
    );

    expect(stdout).toBe('wrote 2');
    expect(stderr).not.toContain('secret-manager|');
    for (const value of [...creds.tokens, creds.json]) expect(stderr).not.toContain(value);
  });

  // Proves the guard sees this client's ADC lookup, so the http:// endpoint tests above would fail if
  // the provider ever let the client look for credentials.
  test('control: a TLS endpoint makes the client look for ADC, which the guard records', async () => {
    const name = freshName();
    seed(name, makeFakeCredentials().json);
    const controlDir = mkdtempSync(join(tmpdir(), 'gcp-control-'));
    const controlLog = join(controlDir, 'control.log');
    const saved = { log: process.env.CLAUDE_CREDS_GUARD_LOG, home: process.env.HOME, adc: process.env.GOOGLE_APPLICATION_CREDENTIALS };
    process.env.CLAUDE_CREDS_GUARD_LOG = controlLog;
    process.env.HOME = controlDir; // no ~/.config/gcloud/application_default_credentials.json here
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    try {
      const provider = await gcp(name, { endpoint: `127.0.0.1:${fake.port}` });
      const error = await failure(provider.read({ timeoutMs: 10_000 }));
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error.message).toContain('Application Default Credentials');
    } finally {
      process.env.CLAUDE_CREDS_GUARD_LOG = saved.log;
      process.env.HOME = saved.home;
      if (saved.adc !== undefined) process.env.GOOGLE_APPLICATION_CREDENTIALS = saved.adc;
    }
    const recorded = readFileSync(controlLog, 'utf8');
    rmSync(controlDir, { recursive: true, force: true });
    expect(recorded).toMatch(/metadata|169\.254\.169\.254/);
    expect(fake.faults.count('AccessSecretVersion')).toBe(0);
  });
});
