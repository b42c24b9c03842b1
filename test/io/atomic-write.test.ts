import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { WriteError } from '../../src/core/errors.js';
import { removeStaleTemps, writeFileAtomic } from '../../src/io/atomic-write.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'claude-creds-write-'));
});
afterEach(() => {
  execFileSync('rm', ['-rf', dir]);
});

const isRoot = process.getuid?.() === 0;

describe('writeFileAtomic', () => {
  test('creates the directory 0700 and the file 0600 with exactly the bytes given', async () => {
    const target = join(dir, 'nested', '.claude', '.credentials.json');
    expect(await writeFileAtomic(target, '{"a":1}')).toBe('written');
    expect(readFileSync(target, 'utf8')).toBe('{"a":1}');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested', '.claude')).mode & 0o777).toBe(0o700);
  });

  test('makes the file 0600 even under a permissive umask and over a 0644 file', async () => {
    const target = join(dir, 'c.json');
    writeFileSync(target, 'old', { mode: 0o644 });
    const previous = process.umask(0);
    try {
      await writeFileAtomic(target, 'new');
    } finally {
      process.umask(previous);
    }
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  test('does not rewrite a file whose content is already identical, but fixes its mode', async () => {
    const target = join(dir, 'c.json');
    writeFileSync(target, 'same', { mode: 0o644 });
    const inode = statSync(target).ino;
    expect(await writeFileAtomic(target, 'same')).toBe('unchanged');
    expect(statSync(target).ino).toBe(inode);
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  test('replaces the file by rename (a new inode), leaving no temp file behind', async () => {
    const target = join(dir, 'c.json');
    writeFileSync(target, 'old');
    const inode = statSync(target).ino;
    await writeFileAtomic(target, 'new');
    expect(statSync(target).ino).not.toBe(inode);
    expect(readdirSync(dir)).toEqual(['c.json']);
  });

  test('refuses a target that is a symlink and leaves what it points to untouched', async () => {
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, 'precious');
    const target = join(dir, 'c.json');
    symlinkSync(elsewhere, target);
    await expect(writeFileAtomic(target, 'attack')).rejects.toThrow(/is a symbolic link; refusing/);
    expect(readFileSync(elsewhere, 'utf8')).toBe('precious');
    expect(lstatSync(target).isSymbolicLink()).toBe(true);
  });

  test('refuses a directory that is a symlink', async () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'link'));
    await expect(writeFileAtomic(join(dir, 'link', 'c.json'), 'x')).rejects.toThrow(/link is a symbolic link/);
    expect(readdirSync(real)).toEqual([]);
  });

  test.each([
    ['a directory', (path: string) => mkdirSync(path), /is not a regular file \(a directory\)/],
    ['a FIFO', (path: string) => execFileSync('mkfifo', [path]), /is not a regular file \(a FIFO\)/],
  ])('refuses a target that is %s', async (_name, make, message) => {
    const target = join(dir, 'c.json');
    make(target);
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(message);
  });

  test('refuses when a file stands where the directory should be', async () => {
    writeFileSync(join(dir, 'notadir'), '');
    await expect(writeFileAtomic(join(dir, 'notadir', 'c.json'), 'x')).rejects.toBeInstanceOf(WriteError);
  });

  test.runIf(isRoot)('chowns the file and the directory it creates with --owner (as root)', async () => {
    const target = join(dir, 'home', '.credentials.json');
    await writeFileAtomic(target, 'x', { owner: { uid: 4321, gid: 4322 } });
    expect(statSync(target)).toMatchObject({ uid: 4321, gid: 4322 });
    expect(statSync(join(dir, 'home'))).toMatchObject({ uid: 4321, gid: 4322 });
  });

  test('removes temp files older than a minute that a crashed writer left, and only those', async () => {
    const stale = join(dir, '.c.json.claude-creds-abc.tmp');
    const fresh = join(dir, '.c.json.claude-creds-def.tmp');
    const foreign = join(dir, '.c.json.tmp.123');
    for (const path of [stale, fresh, foreign]) writeFileSync(path, 'partial');
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(stale, old, old);
    utimesSync(foreign, old, old);
    expect(await removeStaleTemps(dir, 'c.json')).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([fresh, foreign].map((p) => p.slice(dir.length + 1)).sort());
  });
});
