import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CommandContext } from '../../src/core/context.js';
import { createGcpProvider } from '../../src/providers/gcp/index.js';
import { writeStore } from '../../src/store/store-access.js';
import { startFakeGcp, type RunningFakeGcp } from '../fakes/gcp-secret-manager.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';

/** A context whose logger keeps the JSON lines it writes. */
function recordingContext(): { context: CommandContext; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const context: CommandContext = {
    logger: pino({ level: 'info' }, sink),
    retry: { deadlineMs: 5_000, initialDelayMs: 10, maxDelayMs: 50, multiplier: 2 },
    now: Date.now,
  };
  return { context, lines };
}

describe('writeStore', () => {
  let fake: RunningFakeGcp;
  beforeAll(async () => {
    fake = await startFakeGcp();
  });
  afterAll(async () => {
    await fake.close();
  });

  test("logs a provider's warnings once as warnings, and the write still succeeds", async () => {
    for (let i = 0; i < 11; i += 1) fake.store.addVersion(fake.storeKey('warned'), makeFakeCredentials().json);
    fake.faults.failNext(10, 'denied', 'DestroySecretVersion');
    const provider = await createGcpProvider(fake.providerConfig('warned'));
    const { context, lines } = recordingContext();

    const first = await writeStore(provider, makeFakeCredentials().json, '11', context);
    const second = await writeStore(provider, makeFakeCredentials().json, '12', context);
    await provider.close?.();

    expect([first.version, second.version]).toEqual(['12', '13']);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ location: fake.storeKey('warned') });
    expect(String(warnings[0]?.msg)).toMatch(/roles\/secretmanager\.secretVersionManager/);
  });
});
