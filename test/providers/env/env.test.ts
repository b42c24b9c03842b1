import { describe, expect, test } from 'vitest';
import { NotFoundError, ReadOnlyProviderError } from '../../../src/core/errors.js';
import { createEnvProvider } from '../../../src/providers/env/index.js';
import type { ProviderConfig } from '../../../src/core/provider.js';

const config = (secret: string | undefined, env: Record<string, string>): ProviderConfig => ({
  name: 'env', secret, region: undefined, endpoint: undefined, project: undefined, vaultUrl: undefined, caFile: undefined, env,
});

describe('env provider', () => {
  test.each([
    [undefined, { CLAUDE_CREDENTIALS_B64: 'b64', CLAUDE_CREDENTIALS_JSON: 'json' }, 'b64'],
    [undefined, { CLAUDE_CREDENTIALS_JSON: 'json' }, 'json'],
    ['MINE', { MINE: 'mine', CLAUDE_CREDENTIALS_B64: 'b64' }, 'mine'],
  ])('with --secret %s reads the right variable', async (secret, env, expected) => {
    const provider = await createEnvProvider(config(secret, env));
    expect((await provider.read()).payload).toBe(expected);
  });

  test('an unset variable is NotFoundError naming it', async () => {
    const provider = await createEnvProvider(config('MINE', {}));
    await expect(provider.read()).rejects.toThrow(NotFoundError);
    await expect(provider.read()).rejects.toThrow(/MINE is not set/);
  });

  test('declares itself read-only and refuses writes with the reason', async () => {
    const provider = await createEnvProvider(config(undefined, { CLAUDE_CREDENTIALS_B64: 'x' }));
    expect(provider.writes).toBe('none');
    await expect(provider.write({ payload: '{}', expectedVersion: undefined })).rejects.toBeInstanceOf(ReadOnlyProviderError);
  });
});
