import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { fatalMessage, logLines, runCli } from '../support/cli.js';
import { writeLikeClaudeCli } from '../support/claude-cli-writer.js';
import { loginOf } from '../support/sync-harness.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { assertNoLeaks } from '../support/leak-check.js';
import { startFakeAws } from '../fakes/aws-secrets-manager.js';
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
    expect(loginOf(readFileSync(store, 'utf8'))).toEqual(loginOf(refreshed.json));
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
    expect(loginOf(readFileSync(store, 'utf8'))).toEqual(loginOf(refreshed.json));
  });

  test.each([
    [['sidecar', '--worker-copy', 'access-only'], /--worker-copy access-only needs --refresh-before/],
    [['sidecar', '--health-port', 'http'], /--health-port takes a port number/],
    [['sidecar', '--pull-interval', 'often'], /--pull-interval takes a duration/],
    // Settings that cannot work (issue 12): a lead inside the CLI's own window, jitter into it, a read-only store.
    [['sidecar', '--refresh-before', '4m'], /--refresh-before must be at least 7m: the Claude CLI refreshes by itself in the last 5m/],
    [['sidecar', '--refresh-before', '6m59s'], /--refresh-before must be at least 7m/],
    [['sidecar', '--refresh-before', '10m', '--refresh-jitter', '5m'], /--refresh-jitter must leave --refresh-before minus the jitter at least 7m/],
    [['sidecar', '--provider', 'env', '--refresh-before', '30m'], /the env provider is read-only/],
    [['run', '--sync', '--provider', 'env', '--', 'true'], /the env provider is read-only/],
  ])('refuses %j with a usage error', async (args, message) => {
    const dir = tempDir();
    const result = await runCli([...args, '--secret', join(dir, 'store.json'), '--out', join(dir, 'c.json')]);
    expect(result.code).toBe(64);
    expect(fatalMessage(result.stderr)).toMatch(message);
    await sleep(0);
  });

  test.each([3000, 1000])('with the store down, SIGTERM ends the sidecar within --flush-timeout %i ms (retries in flight cut short)', async (flushMs) => {
    const aws = await startFakeAws();
    try {
      const dir = tempDir();
      const name = `down-${flushMs}`;
      aws.store.addVersion(aws.storeKey(name), makeFakeCredentials({ expiresAt: Date.now() + 2 * HOUR }).json);
      const local = join(dir, 'worker', '.credentials.json');
      let signalledAt = 0;
      const result = await runCli(
        ['sidecar', ...aws.cliArgs, '--secret', name, '--out', local, '--pull-interval', '1s', '--timeout', '60s', '--flush-timeout', `${flushMs}ms`],
        {
          env: { ...aws.cliEnv, CLAUDE_CONFIG_DIR: join(dir, 'worker') },
          timeoutMs: 90_000,
          onSpawn: (child) => {
            void (async () => {
              await waitForLog(child, 'keeping the local file and the store in step');
              // The store goes down: every call fails after 2 s; pulls retry for up to --timeout (60 s).
              aws.faults.failRandomly(1, 'unavailable').delay(2000);
              await writeLikeClaudeCli(local, makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR }).json);
              await sleep(1500);
              signalledAt = Date.now();
              child.kill('SIGTERM');
            })();
          },
        },
      );
      const took = Date.now() - signalledAt;
      console.log(`[shutdown] sidecar with the store down exited ${took} ms after SIGTERM, --flush-timeout ${flushMs} ms`);
      expect(result.code).toBe(0);
      expect(took).toBeLessThan(flushMs + 1500);
    } finally {
      await aws.close();
    }
  }, 100_000);
});

