import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { fatalMessage, logLines, runCli } from '../support/cli.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { assertNoLeaks } from '../support/leak-check.js';
import { useTempDir } from '../support/temp-dir.js';

const HOUR = 3600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForLog(child: ChildProcess, message: string, timeoutMs = 10_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${message}" in the sidecar's log within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(message)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe('claude-creds sidecar (as a process)', () => {
  const tempDir = useTempDir('claude-creds-sidecar-');

  test('serves health endpoints for each state, and on SIGTERM pushes the newer local token before exiting 0', async () => {
    const dir = tempDir();
    const store = join(dir, 'store', 'credentials.json');
    mkdirSync(join(dir, 'store'));
    const stored = makeFakeCredentials({ expiresAt: Date.now() + 2 * HOUR });
    writeFileSync(store, stored.json);
    const local = join(dir, 'worker', '.credentials.json');
    const port = await freePort();
    const refreshed = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    const bodies: string[] = [];

    const result = await runCli(
      ['sidecar', '--secret', store, '--out', local, '--pull-interval', '1h', '--health-port', String(port), '--health-host', '127.0.0.1', '--seed-onboarding'],
      {
        env: { CLAUDE_CONFIG_DIR: join(dir, 'worker') },
        timeoutMs: 30_000,
        onSpawn: (child) => {
          void (async () => {
            await waitForLog(child, 'keeping the local file and the store in step');
            const base = `http://127.0.0.1:${port}`;
            const healthz = await fetch(`${base}/healthz`);
            const readyz = await fetch(`${base}/readyz`);
            const status = (await (await fetch(`${base}/status`)).json()) as Record<string, unknown>;
            const metrics = await (await fetch(`${base}/metrics`)).text();
            bodies.push(JSON.stringify(status), metrics);
            expect(healthz.status).toBe(200);
            expect(readyz.status).toBe(200);
            expect(status).toMatchObject({ provider: 'file', ready: true, localPath: local });
            expect(metrics).toMatch(/^claude_creds_ready 1$/m);
            expect(metrics).toMatch(/^claude_creds_pulls_total 1$/m);

            // The CLI refreshes; SIGTERM arrives before the debounced push could run.
            await writeLikeClaudeCli(local, refreshed.json);
            child.kill('SIGTERM');
          })().catch((error: unknown) => {
            bodies.push(`error: ${String(error)}`);
            child.kill('SIGKILL');
          });
        },
      },
    );
    expect(bodies.filter((body) => body.startsWith('error'))).toEqual([]);
    expect(bodies).toHaveLength(2); // the endpoint checks above really ran
    expect(result.code).toBe(0);
    expect(readFileSync(store, 'utf8')).toBe(refreshed.json);
    const messages = logLines(result.stderr).map((line) => line.msg);
    expect(messages).toContain('shutting down: pushing anything newer first');
    // The interval in the printed form (it was "3600000 ms").
    expect(logLines(result.stderr).find((line) => line.msg === 'keeping the local file and the store in step')?.pullInterval).toBe('1h');
    expect(JSON.parse(readFileSync(join(dir, 'worker', '.claude.json'), 'utf8'))).toEqual({ hasCompletedOnboarding: true });
    for (const body of bodies) {
      assertNoLeaks('health endpoint body', body, [...stored.tokens, ...refreshed.tokens]);
    }
  }, 40_000);

  test('reports not ready (503) while the only token is expired', async () => {
    const dir = tempDir();
    const store = join(dir, 'store.json');
    writeFileSync(store, makeFakeCredentials({ expiresAt: Date.now() - HOUR }).json);
    const port = await freePort();
    let readyStatus = 0;
    let readyBody = '';
    const result = await runCli(
      ['sidecar', '--secret', store, '--out', join(dir, 'w', '.credentials.json'), '--health-port', String(port), '--health-host', '127.0.0.1'],
      {
        timeoutMs: 20_000,
        onSpawn: (child) => {
          void (async () => {
            await waitForLog(child, 'keeping the local file and the store in step');
            const response = await fetch(`http://127.0.0.1:${port}/readyz`);
            readyStatus = response.status;
            readyBody = await response.text();
            child.kill('SIGTERM');
          })().catch(() => child.kill('SIGKILL'));
        },
      },
    );
    expect(result.code).toBe(0);
    expect(readyStatus).toBe(503); // 0 would mean the request never happened
    expect(readyBody).toMatch(/not ready: token expired/);
  }, 30_000);

  test('run --sync pushes the token the command refreshed, after the command ends', async () => {
    const dir = tempDir();
    const store = join(dir, 'store.json');
    writeFileSync(store, makeFakeCredentials({ expiresAt: Date.now() + HOUR }).json);
    const refreshed = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
    const refreshedFile = join(dir, 'refreshed.json');
    writeFileSync(refreshedFile, refreshed.json);
    // The "worker" replaces the credentials file the way the CLI does (temp + rename) and exits 5.
    const script = `cp "${refreshedFile}" "$CLAUDE_CONFIG_DIR/.credentials.json.tmp.1" && mv "$CLAUDE_CONFIG_DIR/.credentials.json.tmp.1" "$CLAUDE_CONFIG_DIR/.credentials.json"; exit 5`;
    const result = await runCli(['run', '--sync', '--secret', store, '--', 'sh', '-c', script], {
      env: { CLAUDE_CONFIG_DIR: join(dir, 'cfg') },
    });
    expect(result.code).toBe(5);
    expect(readFileSync(store, 'utf8')).toBe(refreshed.json);
  });

  test.each([
    [['sidecar', '--worker-copy', 'access-only'], /--worker-copy access-only needs --refresh-before/],
    [['sidecar', '--health-port', 'http'], /--health-port takes a port number/],
    [['sidecar', '--pull-interval', 'often'], /--pull-interval takes a duration/],
  ])('refuses %j with a usage error', async (args, message) => {
    const dir = tempDir();
    const result = await runCli([...args, '--secret', join(dir, 'store.json'), '--out', join(dir, 'c.json')]);
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(message);
    await sleep(0);
  });
});
