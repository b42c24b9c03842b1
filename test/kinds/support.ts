import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliEnv, type CliResult } from '../support/cli.js';
import { fakeToken, issuedFakeTokens } from '../support/fake-credentials.js';
import { assertNoLeaks } from '../support/leak-check.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A clearly fake API key, registered with the suite-wide leak check like every fake token. */
export function fakeApiKey(): string {
  const key = `sk-ant-api03-FAKE-TEST-${randomBytes(24).toString('hex')}`;
  issuedFakeTokens.add(key);
  return key;
}

/** A clearly fake `claude setup-token` token (registered too). */
export function fakeSetupToken(): string {
  return fakeToken('oat');
}

/** The apiKeyHelper that `fetch --kind api-key` put in `settings.json`. */
export function helperCommandIn(settingsPath: string): string {
  const settings = JSON.parse(readFileSync(settingsPath, 'utf8')) as { apiKeyHelper?: unknown };
  if (typeof settings.apiKeyHelper !== 'string') throw new Error(`${settingsPath} names no apiKeyHelper`);
  return settings.apiKeyHelper;
}

/**
 * Runs a helper command line through `sh -c`, as the Claude CLI does. The helper's stdout is meant to
 * be the key, so the leak check covers stdout for every token except `allowedOnStdout`, and stderr for all.
 */
export function runHelper(command: string, allowedOnStdout: string, env: Record<string, string | undefined> = {}): Promise<CliResult & { ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', command], { cwd: root, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      try {
        assertNoLeaks('stderr of the api-key helper', stderr);
        assertNoLeaks('stdout of the api-key helper', stdout, [...issuedFakeTokens].filter((token) => token !== allowedOnStdout));
      } catch (error) {
        reject(error);
        return;
      }
      resolve({ code, signal, stdout, stderr, ms });
    });
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
