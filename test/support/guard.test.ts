import { lookup } from 'node:dns/promises';
import { createServer, connect } from 'node:net';
import { describe, expect, test } from 'vitest';

describe('loopback guard', () => {
  test('refuses a connection to a non-loopback address', async () => {
    const log = process.env.CLAUDE_CREDS_GUARD_LOG;
    const saved = log;
    // Record this expected violation somewhere else so the global teardown does not fail the run.
    process.env.CLAUDE_CREDS_GUARD_LOG = '';
    try {
      const error = await new Promise<Error>((resolve) => {
        const socket = connect({ host: '169.254.169.254', port: 80 });
        socket.on('error', resolve);
        socket.on('connect', () => resolve(new Error('connected')));
      });
      expect(error.message).toMatch(/loopback-guard/);
    } finally {
      process.env.CLAUDE_CREDS_GUARD_LOG = saved;
    }
  });

  test('refuses a DNS lookup of a public name and resolves .localhost names to 127.0.0.1', async () => {
    const saved = process.env.CLAUDE_CREDS_GUARD_LOG;
    process.env.CLAUDE_CREDS_GUARD_LOG = '';
    try {
      await expect(lookup('secretmanager.googleapis.com')).rejects.toThrow(/loopback-guard/);
    } finally {
      process.env.CLAUDE_CREDS_GUARD_LOG = saved;
    }
    await expect(lookup('myvault.vault.localhost')).resolves.toMatchObject({ address: '127.0.0.1' });
  });

  test('lets loopback connections through', async () => {
    const server = createServer((socket) => socket.end('hi'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let data = '';
      socket.on('data', (chunk) => (data += String(chunk)));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    server.close();
    expect(reply).toBe('hi');
  });
});
