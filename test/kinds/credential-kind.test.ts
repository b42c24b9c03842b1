import { describe, expect, test } from 'vitest';
import {
  buildHelperCommand,
  decideApiKeyServe,
  detectKind,
  parseKindOption,
  parseSecret,
  recallWindowFor,
  shellQuote,
} from '../../src/core/credential-kind.js';
import { InvalidCredentialsError, UsageError } from '../../src/core/errors.js';
import { mergeApiKeyHelper } from '../../src/io/settings-file.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { fakeApiKey, fakeSetupToken } from './support.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('detectKind', () => {
  test.each([
    ['a raw API key', () => fakeApiKey(), 'api-key'],
    ['an API key with a trailing newline', () => `${fakeApiKey()}\n`, 'api-key'],
    ['an API key in JSON', () => JSON.stringify({ apiKey: fakeApiKey() }), 'api-key'],
    ['base64 of an API key', () => b64(fakeApiKey()), 'api-key'],
    ['a raw setup token', () => fakeSetupToken(), 'oauth-token'],
    ['a setup token in JSON with its expiry', () => JSON.stringify({ oauthToken: fakeSetupToken(), expiresAt: Date.now() + 1e10 }), 'oauth-token'],
    ['base64 of setup-token JSON', () => b64(JSON.stringify({ oauthToken: fakeSetupToken() })), 'oauth-token'],
    ['a .credentials.json document', () => makeFakeCredentials().json, 'oauth'],
    ['base64 of a .credentials.json document', () => makeFakeCredentials().base64, 'oauth'],
    ['garbage (the oauth parser then says why)', () => 'not a secret', 'oauth'],
    ['an empty payload', () => '', 'oauth'],
    ['broken JSON', () => '{"claudeAiOauth":', 'oauth'],
  ])('%s -> %s', (_name, payload, kind) => {
    expect(detectKind(payload())).toBe(kind);
  });

  test('reads bytes as well as text', () => {
    expect(detectKind(Buffer.from(fakeApiKey()))).toBe('api-key');
    expect(detectKind(new Uint8Array([0xff, 0xfe]))).toBe('oauth');
  });
});

describe('parseSecret', () => {
  test('an API key is kept exactly, without surrounding blanks', () => {
    const key = fakeApiKey();
    expect(parseSecret(` ${key}\n`)).toEqual({ kind: 'api-key', apiKey: key });
    expect(parseSecret(JSON.stringify({ apiKey: key }), 'api-key')).toEqual({ kind: 'api-key', apiKey: key });
  });

  test('a setup token with and without a known expiry', () => {
    const token = fakeSetupToken();
    expect(parseSecret(token)).toEqual({ kind: 'oauth-token', token, expiresAt: undefined });
    expect(parseSecret(JSON.stringify({ oauthToken: token, expiresAt: 1_900_000_000_000 }))).toEqual({ kind: 'oauth-token', token, expiresAt: 1_900_000_000_000 });
  });

  test('oauth documents go through the credentials parser, unchanged', () => {
    const fake = makeFakeCredentials();
    const secret = parseSecret(fake.json);
    expect(secret.kind).toBe('oauth');
    expect(secret.kind === 'oauth' && secret.credentials.text).toBe(fake.json);
  });

  test.each([
    ['an oauth document as api-key', () => makeFakeCredentials().json, 'api-key', /holds a \.credentials\.json login .*--kind oauth/],
    ['a setup token as api-key', () => fakeSetupToken(), 'api-key', /holds a `claude setup-token` token/],
    ['an API key as oauth-token', () => fakeApiKey(), 'oauth-token', /holds an API key/],
    ['an API key as oauth', () => fakeApiKey(), 'oauth', /holds an API key/],
    ['two words', () => `${fakeApiKey()} ${fakeApiKey()}`, 'api-key', /one word/],
    ['a short word', () => 'abc', 'api-key', /characters long/],
    ['JSON without the field', () => '{"other":1}', 'oauth-token', /no "oauthToken" field/],
    ['a bad expiry', () => JSON.stringify({ oauthToken: fakeSetupToken(), expiresAt: 'soon' }), 'oauth-token', /expiresAt/],
    ['a refresh token', () => fakeSetupToken().replace('-oat01-', '-ort01-'), 'oauth-token', /refresh token/],
    ['an empty payload', () => ' \n', 'api-key', /empty/],
  ])('refuses %s with a clear message that holds no secret', (_name, payload, kind, message) => {
    const text = payload();
    let caught: unknown;
    try {
      parseSecret(text, kind as 'oauth' | 'api-key' | 'oauth-token');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidCredentialsError);
    const error = caught as InvalidCredentialsError;
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('FAKE-TEST');
  });

  test('--kind values', () => {
    expect(parseKindOption(undefined)).toBeUndefined();
    expect(parseKindOption('API-KEY')).toBe('api-key');
    expect(() => parseKindOption('token')).toThrow(UsageError);
  });
});

describe('the api-key cache policy', () => {
  const ttl = 240_000;
  const window = 30_000;
  const t0 = 1_800_000_000_000;

  test.each([
    ['no cache', undefined, t0, { action: 'refetch', reason: 'missing' }],
    ['fresh, never served', { fetchedAt: t0, lastServedAt: undefined }, t0 + 1000, { action: 'serve' }],
    ['fresh, served long ago', { fetchedAt: t0, lastServedAt: t0 + 1000 }, t0 + 60_000, { action: 'serve' }],
    ['stale', { fetchedAt: t0, lastServedAt: t0 + 1000 }, t0 + ttl, { action: 'refetch', reason: 'stale' }],
    ['dated in the future (clock jump)', { fetchedAt: t0 + 3_600_000, lastServedAt: undefined }, t0, { action: 'refetch', reason: 'stale' }],
    ['re-called right after serving (a 401)', { fetchedAt: t0, lastServedAt: t0 + 60_000 }, t0 + 65_000, { action: 'refetch', reason: 'recalled' }],
    ['re-called right after a refetch', { fetchedAt: t0 + 60_000, lastServedAt: t0 + 59_000 }, t0 + 65_000, { action: 'serve' }],
    ['re-called right after a refetch that served at once', { fetchedAt: t0 + 60_000, lastServedAt: t0 + 60_000 }, t0 + 65_000, { action: 'serve' }],
  ] as const)('%s', (_name, cache, now, decision) => {
    expect(decideApiKeyServe(cache, now, ttl, window)).toEqual(decision);
  });

  test('the recall window stays under half the CLI\'s own helper TTL', () => {
    expect(recallWindowFor(undefined, 30_000)).toBe(30_000);
    expect(recallWindowFor(300_000, 30_000)).toBe(30_000);
    expect(recallWindowFor(20_000, 30_000)).toBe(10_000);
    expect(recallWindowFor(Number.NaN, 30_000)).toBe(30_000);
  });
});

describe('the apiKeyHelper command line', () => {
  test('quotes every word for the shell and carries only names and paths', () => {
    const command = buildHelperCommand(
      ['/usr/bin/node', "/opt/my app/claude-creds.mjs"],
      { provider: 'aws', secret: "team's key", region: 'eu-west-1', endpoint: undefined },
      '/home/u/.claude/.claude-creds-api-key-cache',
    );
    expect(command).toBe(
      "/usr/bin/node '/opt/my app/claude-creds.mjs' api-key --kind api-key --provider aws --secret 'team'\\''s key' --region eu-west-1 --cache /home/u/.claude/.claude-creds-api-key-cache",
    );
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
  });
});

describe('settings.json merge', () => {
  test('sets apiKeyHelper and keeps every other key, in order', () => {
    const existing = JSON.stringify({ permissions: { allow: ['Bash(ls)'] }, env: { FOO: '1' }, apiKeyHelper: 'old', model: 'opus' });
    const merged = JSON.parse(mergeApiKeyHelper(existing, 'new helper', 'settings.json')) as Record<string, unknown>;
    expect(merged).toEqual({ permissions: { allow: ['Bash(ls)'] }, env: { FOO: '1' }, apiKeyHelper: 'new helper', model: 'opus' });
    expect(Object.keys(merged)).toEqual(['permissions', 'env', 'apiKeyHelper', 'model']);
  });

  test('starts from nothing, and refuses a file that is not a JSON object', () => {
    expect(JSON.parse(mergeApiKeyHelper(undefined, 'h', 's'))).toEqual({ apiKeyHelper: 'h' });
    expect(JSON.parse(mergeApiKeyHelper('\n', 'h', 's'))).toEqual({ apiKeyHelper: 'h' });
    expect(() => mergeApiKeyHelper('{"a":', 'h', 'settings.json')).toThrow(/not valid JSON/);
    expect(() => mergeApiKeyHelper('[1]', 'h', 'settings.json')).toThrow(/not an object/);
  });
});
