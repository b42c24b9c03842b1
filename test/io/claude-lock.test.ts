import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { claudeLockPaths, ownIdentity, readOwnerRecord, withClaudeLocks } from '../../src/io/claude-lock.js';
import { startFakeOAuthServer } from '../fakes/oauth-server.js';
import { SimulatedClaudeCli } from '../support/simulated-claude-cli.js';
import { useTempDir } from '../support/temp-dir.js';

const tempDir = useTempDir('claude-creds-lock-');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function procStart(pid: number): string | undefined {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
}

/** A lock directory and owner record as a 2.1.332 CLI holding the lock would leave them. */
function plantCliLock(configDir: string, pid: number, mtimeAgoMs: number): void {
  const lock = join(configDir, '.oauth_refresh.lock');
  mkdirSync(lock);
  const own = ownIdentity();
  writeFileSync(
    join(configDir, '.oauth_refresh.lock.owner'),
    JSON.stringify({ pid, procStart: procStart(pid), pidDomain: own.pidDomain, pidSpace: own.pidSpace, lockBirthtimeMs: statSync(lock).birthtimeMs }),
  );
  const at = new Date(Date.now() - mtimeAgoMs);
  utimesSync(lock, at, at);
}

describe('the owner record claude-creds writes', () => {
  test('is in the CLI\'s schema with this process\'s pid, start time, namespace and the lock\'s birth time, and is gone after release', async () => {
    const dir = tempDir();
    const paths = await claudeLockPaths(dir);
    const record = await withClaudeLocks(dir, () => readOwnerRecord(paths.ownerRecord));
    expect(record).toMatchObject({ pid: process.pid, pidDomain: ownIdentity().pidDomain, pidSpace: ownIdentity().pidSpace, procStart: procStart(process.pid) });
    expect(record?.lockBirthtimeMs).toBeGreaterThan(0);
    expect(await readOwnerRecord(paths.ownerRecord)).toBeUndefined();
  });

  test('a 2.1.332 CLI inside its window never takes a lock claude-creds holds over, waits, then finds the refreshed file', async () => {
    const dir = tempDir();
    const oauth = await startFakeOAuthServer();
    try {
      const login = oauth.issueLogin({ expiresInMs: 2 * 60_000 });
      writeFileSync(join(dir, '.credentials.json'), login.json, { mode: 0o600 });
      const cli = new SimulatedClaudeCli({ configDir: dir, tokenUrl: oauth.url, version: '2.1.332' });
      const refreshed = oauth.issueLogin({ expiresInMs: 8 * 3_600_000 });
      // Held for longer than the CLI's retries and its 7.5 s quiet-lock watch, as a slow token endpoint would make us.
      const held = withClaudeLocks(dir, async () => {
        await sleep(10_000);
        writeFileSync(join(dir, '.credentials.json'), refreshed.json, { mode: 0o600 });
      });
      await sleep(200);
      const first = await cli.request();
      await held;
      const second = await cli.request();
      expect(cli.counts.takeovers).toBe(0);
      expect(['lock_busy', 'lock_timeout']).toContain(first.refresh);
      expect(second.refresh).toBeUndefined(); // outside the window now: nothing to refresh
      expect(cli.counts.tokenRequests).toBe(0);
      expect(oauth.requests).toHaveLength(0);
    } finally {
      await oauth.close();
    }
  }, 30_000);
});

describe('a lock the CLI holds', () => {
  test('with a record of a live holder: never stolen, even once its mtime is older than 10 s', async () => {
    const dir = tempDir();
    const holder = spawn('sleep', ['30']);
    try {
      plantCliLock(dir, holder.pid as number, 15_000);
      await expect(withClaudeLocks(dir, async () => 'taken', { maxWaitMs: 2500 })).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      holder.kill();
    }
  });

  test('without a record: taken over once its mtime is older than 10 s (the 2.1.197 rule)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '.oauth_refresh.lock'));
    const at = new Date(Date.now() - 15_000);
    utimesSync(join(dir, '.oauth_refresh.lock'), at, at);
    expect(await withClaudeLocks(dir, async () => 'taken', { maxWaitMs: 2500 })).toBe('taken');
  });

  test('with a record of a holder proven gone in our PID namespace: taken over after 7.5 s of a quiet lock', async () => {
    const dir = tempDir();
    const gone = spawnSync('sh', ['-c', 'echo $$']);
    const pid = Number(String(gone.stdout).trim());
    const lock = join(dir, '.oauth_refresh.lock');
    mkdirSync(lock);
    const own = ownIdentity();
    writeFileSync(join(dir, '.oauth_refresh.lock.owner'), JSON.stringify({ pid, pidDomain: own.pidDomain, pidSpace: own.pidSpace, lockBirthtimeMs: statSync(lock).birthtimeMs }));
    const started = Date.now();
    expect(await withClaudeLocks(dir, async () => 'taken', { maxWaitMs: 15_000 })).toBe('taken');
    expect(Date.now() - started).toBeGreaterThanOrEqual(7500);
  }, 20_000);
});

describe('the lock beside the config directory', () => {
  const root = process.getuid?.() === 0;
  test.skipIf(!root)('is skipped at once when its parent is read-only (the image\'s /claude: /claude.lock cannot be made), not retried', () => {
    const dir = tempDir();
    const script = `
      set -e
      mount -t tmpfs -o size=1m tmpfs ${dir}/ro
      mkdir ${dir}/ro/claude
      mount -o remount,ro ${dir}/ro
      mount --bind ${dir}/rw ${dir}/ro/claude
      exec node --import tsx -e "
        const { withClaudeLocks } = await import('${join(process.cwd(), 'src/io/claude-lock.ts')}');
        const started = Date.now();
        await withClaudeLocks('${dir}/ro/claude', async () => undefined);
        console.log(Date.now() - started);
      "`;
    mkdirSync(join(dir, 'ro'));
    mkdirSync(join(dir, 'rw'));
    const result = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    const ms = Number(result.stdout.trim());
    console.log(`[lock] both locks with a read-only parent (legacy lock skipped): ${ms} ms`);
    expect(ms).toBeLessThan(3000);
  });
});
