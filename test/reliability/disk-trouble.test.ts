import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GUARD, fatalMessage, runProcess } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { BUNDLE_ENTRY, buildBundle } from '../ship/ship-support.js';
import { figure, isRoot, mountTmpfs, mountUnavailableReason, remount, spawnCli, unmount, type SpawnCliOptions } from './support.js';

const NOBODY = 65_534;
const mountReason = mountUnavailableReason();
if (mountReason !== undefined) {
  // Said once, loudly: the tmpfs cases below are skipped, and why.
  console.log(`[reliability] disk trouble: SKIPPING the read-only and full-disk tmpfs cases: ${mountReason}`);
}

/** Old credentials in place, a bigger new payload in a store file, and the CLI asked to replace them. */
interface Scene {
  readonly dir: string;
  readonly out: string;
  readonly old: string;
  readonly storeFile: string;
  readonly newJson: string;
}

describe('fetch when the disk is in the way: exit 73, the old file intact, no temp files left', () => {
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claude-creds-disk-'));
    // Traversable, so a test run as an unprivileged uid meets the permission problem it is about, not this one.
    chmodSync(work, 0o755);
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  function scene(dir: string): Scene {
    const old = makeFakeCredentials().json;
    const out = join(dir, '.credentials.json');
    writeFileSync(out, old, { mode: 0o600 });
    // ~96 KiB of unknown keys inside the login (only the login travels to an existing file): larger than
    // what is left on the small disks below, valid credentials all the same.
    const newJson = makeFakeCredentials({ extraOAuth: { padding: 'p'.repeat(96 * 1024) } }).json;
    const storeFile = join(work, `store-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(storeFile, newJson, { mode: 0o644 });
    return { dir, out, old, storeFile, newJson };
  }

  async function fetchInto(s: Scene, options: SpawnCliOptions = {}) {
    const started = Date.now();
    const result = await spawnCli(['fetch', '--provider', 'file', '--secret', s.storeFile, '--out', s.out, '--timeout', '5s'], options);
    return { result, ms: Date.now() - started };
  }

  /**
   * As nobody, from a world-readable build of the bundle: the repository itself may sit under a
   * directory only root can enter (a CI clone in a 0700 temp dir), where nobody could not load tsx.
   */
  async function fetchAsNobody(s: Scene) {
    const build = buildBundle();
    try {
      const root = dirname(build.dist);
      chmodSync(root, 0o755);
      const guard = join(root, 'loopback-guard.mjs');
      copyFileSync(GUARD, guard);
      const args = ['fetch', '--provider', 'file', '--secret', s.storeFile, '--out', s.out, '--timeout', '5s'];
      const started = Date.now();
      const result = await runProcess(process.execPath, ['--import', guard, join(build.dist, BUNDLE_ENTRY), ...args], `bundle ${args.join(' ')}`, {
        uid: NOBODY,
        gid: NOBODY,
        cwd: root,
      });
      return { result, ms: Date.now() - started };
    } finally {
      build.remove();
    }
  }

  function expectUntouched(s: Scene): void {
    expect(readFileSync(s.out, 'utf8')).toBe(s.old);
    expect(readdirSync(s.dir).filter((name) => name.includes('.claude-creds-'))).toEqual([]);
  }

  test.skipIf(mountReason !== undefined)('a read-only filesystem', async () => {
    const dir = join(work, 'ro');
    mkdirSync(dir);
    mountTmpfs(dir, 'size=1m,mode=0700');
    try {
      const s = scene(dir);
      remount(dir, 'ro');
      const { result, ms } = await fetchInto(s);
      expect(result.code, result.stderr).toBe(73);
      expect(fatalMessage(result.stderr)).toMatch(/^cannot create a file in .*: the filesystem is read-only: mount a writable volume/);
      expectUntouched(s);
      figure('disk: read-only tmpfs', { exit: result.code ?? 'signal', old_file_intact: true, ms });
    } finally {
      unmount(dir);
    }
  });

  test.skipIf(mountReason !== undefined)('a full filesystem', async () => {
    const dir = join(work, 'full');
    mkdirSync(dir);
    mountTmpfs(dir, 'size=256k,mode=0700');
    try {
      const s = scene(dir);
      // Fill what is left, so the new payload cannot fit while creating the temp file (an inode) still works.
      const filler = openSync(join(dir, 'filler'), 'w');
      let filled = 0;
      try {
        for (;;) filled += writeSync(filler, Buffer.alloc(4096));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(filler);
      }
      const { result, ms } = await fetchInto(s);
      expect(result.code, result.stderr).toBe(73);
      expect(fatalMessage(result.stderr)).toMatch(/^cannot write .*: no space left on the device/);
      expectUntouched(s);
      figure('disk: full tmpfs (256 KiB)', { filler_bytes: filled, payload_bytes: s.newJson.length, exit: result.code ?? 'signal', old_file_intact: true, ms });
    } finally {
      unmount(dir);
    }
  });

  // Node ignores SIGXFSZ, so a write past the limit fails with EFBIG; push takes the file store's lock,
  // whose library (proper-lockfile, via signal-exit) hooks SIGXFSZ and used to re-raise it, killing the
  // process mid-write with its temp file left behind.
  test.each(['fetch', 'push to a file store'])('a file size limit (ulimit -f 32 KiB) on %s: EFBIG, not death by SIGXFSZ', async (command) => {
    const dir = mkdtempSync(join(work, 'fsize-'));
    const s = scene(dir);
    let started = Date.now();
    let result;
    if (command === 'fetch') {
      ({ result } = await fetchInto(s, { fileSizeBlocks: 64 }));
    } else {
      // The store is the small file in `dir`; the login to push is the big one.
      started = Date.now();
      result = await spawnCli(['push', '--provider', 'file', '--secret', s.out, '--from', s.storeFile, '--force', '--timeout', '5s'], { fileSizeBlocks: 64 });
    }
    const ms = Date.now() - started;
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(73);
    expect(fatalMessage(result.stderr)).toMatch(/^cannot write .*: file size limit exceeded/);
    expectUntouched(s);
    figure(`disk: ulimit -f 32 KiB (${command})`, { payload_bytes: s.newJson.length, exit: result.code ?? 'signal', killed_by_signal: result.signal ?? 'none', ms });
  });

  test('a directory the CLI user cannot write (root ignores modes, so it runs as nobody)', async () => {
    const dir = join(work, 'locked');
    mkdirSync(dir, { mode: 0o755 });
    const s = scene(dir);
    chmodSync(s.out, 0o644);
    chmodSync(s.storeFile, 0o644);
    if (!isRoot) chmodSync(dir, 0o555);
    const { result, ms } = isRoot ? await fetchAsNobody(s) : await fetchInto(s);
    expect(result.code, result.stderr).toBe(73);
    expect(fatalMessage(result.stderr)).toMatch(/^cannot create a file in .*: permission denied/);
    expectUntouched(s);
    figure('disk: unwritable directory', { as_uid: isRoot ? NOBODY : (process.getuid?.() ?? 'n/a'), exit: result.code ?? 'signal', old_file_intact: true, ms });
  });

  test('a directory where the file should be', async () => {
    const dir = join(work, 'dir-at-target');
    mkdirSync(dir);
    const s = scene(dir);
    rmSync(s.out);
    mkdirSync(s.out);
    writeFileSync(join(s.out, 'inside'), 'keep');
    const { result, ms } = await fetchInto(s);
    expect(result.code, result.stderr).toBe(73);
    expect(fatalMessage(result.stderr)).toMatch(/^.*\.credentials\.json exists and is not a regular file \(a directory\); refusing to replace it/);
    expect(readdirSync(s.out)).toEqual(['inside']);
    expect(readFileSync(join(s.out, 'inside'), 'utf8')).toBe('keep');
    expect(readdirSync(dir)).toEqual(['.credentials.json']);
    figure('disk: directory at the target', { exit: result.code ?? 'signal', directory_intact: true, ms });
  });
});
