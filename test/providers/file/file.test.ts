import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ConflictError, NotFoundError } from '../../../src/core/errors.js';
import { contentVersion, createFileProvider } from '../../../src/providers/file/index.js';
import type { ProviderConfig } from '../../../src/core/provider.js';
import { makeFakeCredentials } from '../../support/fake-credentials.js';
import { useTempDir } from '../../support/temp-dir.js';

const config = (secret: string): ProviderConfig => ({
  name: 'file', secret, region: undefined, endpoint: undefined, project: undefined, vaultUrl: undefined, caFile: undefined, env: {},
});

describe('file provider', () => {
  const tempDir = useTempDir();

  test('reads the file and versions it by content', async () => {
    const path = join(tempDir(), 'store.json');
    const fake = makeFakeCredentials();
    writeFileSync(path, fake.json);
    const provider = await createFileProvider(config(path));
    const read = await provider.read();
    expect(Buffer.from(read.payload).toString()).toBe(fake.json);
    expect(read.version).toBe(contentVersion(fake.json));
  });

  test('a missing file is NotFoundError', async () => {
    const provider = await createFileProvider(config(join(tempDir(), 'absent.json')));
    await expect(provider.read()).rejects.toBeInstanceOf(NotFoundError);
  });

  test('a write decided on an old version loses with ConflictError and changes nothing', async () => {
    const path = join(tempDir(), 'store.json');
    const first = makeFakeCredentials();
    const concurrent = makeFakeCredentials();
    writeFileSync(path, first.json);
    const provider = await createFileProvider(config(path));
    const { version } = await provider.read();
    writeFileSync(path, concurrent.json); // another machine wrote meanwhile
    await expect(provider.write({ payload: makeFakeCredentials().json, expectedVersion: version })).rejects.toBeInstanceOf(ConflictError);
    expect(readFileSync(path, 'utf8')).toBe(concurrent.json);
  });

  test('a write with expectedVersion undefined creates the file but will not overwrite one that appeared', async () => {
    const path = join(tempDir(), 'sub', 'store.json');
    const provider = await createFileProvider(config(path));
    const fake = makeFakeCredentials();
    await provider.write({ payload: fake.json, expectedVersion: undefined });
    expect(readFileSync(path, 'utf8')).toBe(fake.json);
    await expect(provider.write({ payload: makeFakeCredentials().json, expectedVersion: undefined })).rejects.toBeInstanceOf(ConflictError);
  });

  test('a reader process polling during 1000 writes never sees a partial or invalid file', async () => {
    const dir = tempDir();
    const path = join(dir, 'store.json');
    const documents = Array.from({ length: 4 }, (_, i) =>
      makeFakeCredentials({ expiresAt: Date.now() + i * 1000, extraTopLevel: { padding: 'p'.repeat(4000 * (i + 1)) } }).json,
    );
    writeFileSync(path, documents[0] as string);
    const reader = spawn(process.execPath, [fileURLToPath(new URL('../../support/poll-reader.mjs', import.meta.url)), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    reader.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve) => reader.stdout.once('data', () => resolve()));

    const provider = await createFileProvider(config(path));
    let version = (await provider.read()).version;
    const started = Date.now();
    for (let i = 1; i <= 1000; i += 1) {
      const payload = documents[i % documents.length] as string;
      version = (await provider.write({ payload, expectedVersion: version })).version;
    }
    const elapsedMs = Date.now() - started;
    reader.kill('SIGTERM');
    await new Promise((resolve) => reader.once('close', resolve));
    const stats = JSON.parse(output.split('\n').find((line) => line.startsWith('{')) ?? '{}') as { reads: number; torn: number; missing: number };
    console.log(`file store atomicity: 1000 writes in ${elapsedMs} ms; reader made ${stats.reads} reads, ${stats.torn} torn, ${stats.missing} missing`);
    expect(stats.reads).toBeGreaterThan(1000);
    expect(stats.torn).toBe(0);
    expect(stats.missing).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['store.json']); // no temp or lock left behind
  }, 120_000);
});
