/**
 * The directory rules behind every write (src/io/safe-directory.ts): what a worker who can write a
 * directory on the way can and cannot make root do. The concurrent attacker is in
 * test/reliability/owner-race.test.ts; these are the same rules, one deterministic case each.
 */
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { writeFileAtomic } from '../../src/io/atomic-write.js';
import { seedOnboarding } from '../../src/io/onboarding.js';
import { SafeDirectory } from '../../src/io/safe-directory.js';
import { writeApiKeyHelper } from '../../src/io/settings-file.js';

const isRoot = process.getuid?.() === 0;
const WORKER = { uid: 4321, gid: 4321 };

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'claude-creds-safedir-'));
  chmodSync(base, 0o755);
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

/** base/home: a directory the worker owns (the usual $HOME), which it may fill as it likes. */
function workerHome(): string {
  const home = join(base, 'home');
  mkdirSync(home, { mode: 0o755 });
  if (isRoot) chownSync(home, WORKER.uid, WORKER.gid);
  return home;
}

describe('symbolic links on the way to the directory', () => {
  test('a link in a directory only we can write is followed (a system path such as /var/run)', async () => {
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    expect(await writeFileAtomic(join(base, 'link', 'cfg', '.credentials.json'), 'x')).toBe('written');
    expect(readFileSync(join(base, 'real', 'cfg', '.credentials.json'), 'utf8')).toBe('x');
  });

  test.runIf(isRoot)('a link in a directory the worker can write is refused, and nothing lands where it points', async () => {
    const home = workerHome();
    const rootDir = join(base, 'root-owned');
    mkdirSync(join(rootDir, 'sub'), { recursive: true });
    symlinkSync(rootDir, join(home, 'link'));
    await expect(writeFileAtomic(join(home, 'link', 'sub', '.credentials.json'), 'x', { owner: WORKER })).rejects.toThrow(/link is a symbolic link in .*home, which uid 4321 .* can write; refusing to follow it/);
    expect(readdirSync(join(rootDir, 'sub'))).toEqual([]);
    expect(statSync(join(rootDir, 'sub')).uid).toBe(0);
  });

  test('a link as the directory itself is refused even where only we can write', async () => {
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    await expect(writeFileAtomic(join(base, 'link', '.credentials.json'), 'x')).rejects.toThrow(/link is a symbolic link; refusing to write credentials through it/);
    expect(readdirSync(join(base, 'real'))).toEqual([]);
  });
});

describe.runIf(isRoot)('giving a directory to --owner (as root)', () => {
  test('directories it creates on the way are all the owner\'s, 0700', async () => {
    const home = workerHome();
    await writeFileAtomic(join(home, 'a', 'b', '.credentials.json'), 'x', { owner: WORKER });
    for (const dir of [join(home, 'a'), join(home, 'a', 'b')]) {
      expect(statSync(dir)).toMatchObject({ uid: WORKER.uid, gid: WORKER.gid });
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
  });

  test('an existing root directory that is not empty, in a directory the worker can write, is not given away', async () => {
    const home = workerHome();
    const config = join(home, '.claude');
    mkdirSync(config, { mode: 0o755 });
    writeFileSync(join(config, 'root-notes'), 'root wrote this');
    await expect(writeFileAtomic(join(config, '.credentials.json'), 'x', { owner: WORKER })).rejects.toThrow(/belongs to 0:0, not 4321:4321, is not empty, and its parent can be written by uid 4321: refusing to give it away/);
    expect(statSync(config).uid).toBe(0);
    expect(readdirSync(config)).toEqual(['root-notes']);
  });

  test.each([
    ['it is empty', (config: string) => mkdirSync(config, { mode: 0o755 }), true],
    ['its parent is root\'s', (config: string) => {
      mkdirSync(config, { mode: 0o755 });
      writeFileSync(join(config, 'notes'), 'kept');
    }, false],
  ])('an existing root directory is given to the owner when %s', async (_when, make, inWorkerHome) => {
    const config = join(inWorkerHome ? workerHome() : base, '.claude');
    make(config);
    expect(await writeFileAtomic(join(config, '.credentials.json'), 'x', { owner: WORKER })).toBe('written');
    expect(statSync(config)).toMatchObject({ uid: WORKER.uid, gid: WORKER.gid });
    expect(statSync(join(config, '.credentials.json'))).toMatchObject({ uid: WORKER.uid, gid: WORKER.gid });
  });

  test('identical content behind a hard link to another file: the other file keeps its owner and mode', async () => {
    const config = join(workerHome(), '.claude');
    mkdirSync(config, { mode: 0o700 });
    chownSync(config, WORKER.uid, WORKER.gid);
    const victim = join(base, 'root-file');
    writeFileSync(victim, 'same bytes', { mode: 0o644 });
    chmodSync(victim, 0o644);
    linkSync(victim, join(config, '.credentials.json'));
    expect(await writeFileAtomic(join(config, '.credentials.json'), 'same bytes', { owner: WORKER })).toBe('written');
    expect(statSync(victim)).toMatchObject({ uid: 0, gid: 0, nlink: 1 });
    expect(statSync(victim).mode & 0o7777).toBe(0o644);
    expect(statSync(join(config, '.credentials.json'))).toMatchObject({ uid: WORKER.uid, nlink: 1 });
  });

  test('.claude.json in an existing $HOME: the file is the owner\'s, $HOME is left as it is', async () => {
    const home = join(base, 'root-home');
    mkdirSync(home, { mode: 0o700 });
    expect(await seedOnboarding(join(home, '.claude.json'), WORKER)).toBe('created');
    expect(statSync(home).uid).toBe(0);
    expect(statSync(join(home, '.claude.json')).uid).toBe(WORKER.uid);
  });

  test('settings.json as a hard link to a root-only file: refused, nothing of that file copied', async () => {
    const config = join(workerHome(), '.claude');
    mkdirSync(config, { mode: 0o700 });
    chownSync(config, WORKER.uid, WORKER.gid);
    const rootOnly = join(base, 'root-only.json');
    writeFileSync(rootOnly, '{"rootSecret":"not for the worker"}', { mode: 0o600 });
    linkSync(rootOnly, join(config, 'settings.json'));
    await expect(writeApiKeyHelper(join(config, 'settings.json'), 'claude-creds api-key', WORKER)).rejects.toThrow(/has 2 hard links; refusing/);
    expect(readdirSync(config)).toEqual(['settings.json']);
    expect(statSync(rootOnly)).toMatchObject({ uid: 0, nlink: 2 });
  });
});

describe('SafeDirectory.verify', () => {
  test('throws once the path names another directory than the one held open', async () => {
    const dir = join(base, 'cfg');
    mkdirSync(dir);
    const directory = await SafeDirectory.open(dir);
    try {
      await directory.verify();
      renameSync(dir, join(base, 'moved'));
      mkdirSync(dir);
      await expect(directory.verify()).rejects.toThrow(/cfg was replaced while claude-creds wrote into it/);
      // What was written through the handle went to the directory held, not to the new one.
      writeFileSync(directory.entry('probe'), 'x');
      expect(readdirSync(join(base, 'moved'))).toEqual(['probe']);
      expect(readdirSync(dir)).toEqual([]);
      expect(lstatSync(join(base, 'moved', 'probe')).isFile()).toBe(true);
    } finally {
      await directory.close();
    }
  });
});
