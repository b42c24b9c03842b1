import { describe, expect, test } from 'vitest';
import { MAX_PAYLOAD_BYTES, assessExpiry, compareFreshness, isNewer, parseCredentials } from '../../src/core/credentials.js';
import { InvalidCredentialsError } from '../../src/core/errors.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { assertNoLeaks } from '../support/leak-check.js';

function oauth(fields: Record<string, unknown>): string {
  return JSON.stringify({ claudeAiOauth: { accessToken: 'sk-ant-oat01-FAKE-x', refreshToken: 'sk-ant-ort01-FAKE-y', expiresAt: 1_900_000_000_000, ...fields } });
}

describe('parseCredentials', () => {
  test('keeps the payload byte for byte, unknown keys included', () => {
    const fake = makeFakeCredentials({ extraTopLevel: { futureKey: { nested: [1, 2] } }, extraOAuth: { rateLimitTier: 'x' } });
    const parsed = parseCredentials(fake.json);
    expect(parsed.text).toBe(fake.json);
    expect(parsed.encoding).toBe('json');
    expect(parsed.document.futureKey).toEqual({ nested: [1, 2] });
    expect(parsed.oauth).toMatchObject({ accessToken: fake.accessToken, refreshToken: fake.refreshToken, expiresAt: fake.expiresAt, subscriptionType: 'max' });
  });

  test.each([
    ['standard base64', (json: string) => Buffer.from(json).toString('base64')],
    ['base64 wrapped at 76 columns with CRLF', (json: string) => Buffer.from(json).toString('base64').replace(/(.{76})/g, '$1\r\n')],
    ['URL-safe base64 without padding', (json: string) => Buffer.from(json).toString('base64url')],
    ['base64 of JSON with a BOM', (json: string) => Buffer.from(`\uFEFF${json}`).toString('base64')],
  ])('accepts %s and yields the decoded JSON', (_name, encode) => {
    const fake = makeFakeCredentials();
    const parsed = parseCredentials(encode(fake.json));
    expect(parsed.encoding).toBe('base64');
    expect(parsed.text).toBe(fake.json);
  });

  test('accepts bytes with a UTF-8 BOM and drops the BOM from the text', () => {
    const fake = makeFakeCredentials();
    const parsed = parseCredentials(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(fake.json)]));
    expect(parsed.text).toBe(fake.json);
  });

  test.each([
    ['an empty payload', '', 'empty', /0 bytes.*claude login/],
    ['whitespace only', ' \n\t', 'empty', /empty/],
    ['invalid JSON', '{"claudeAiOauth": {', 'invalid-json', /not valid JSON/],
    ['text that is neither JSON nor base64', 'hello world!', 'invalid-json', /neither JSON nor base64/],
    ['base64 of something that is not JSON', Buffer.from('plain text').toString('base64'), 'invalid-json', /neither JSON nor base64/],
    ['a JSON array', '[1,2]', 'invalid-json', /neither JSON/],
    ['a JSON object without claudeAiOauth', '{"other":1}', 'missing-field', /no "claudeAiOauth"/],
    ['claudeAiOauth that is a string', '{"claudeAiOauth":"x"}', 'wrong-type', /must be an object/],
    ['a missing accessToken', oauth({ accessToken: undefined }), 'missing-field', /accessToken" is missing/],
    ['a missing refreshToken', oauth({ refreshToken: undefined }), 'missing-field', /refreshToken" is missing/],
    ['a missing expiresAt', oauth({ expiresAt: undefined }), 'missing-field', /expiresAt" is missing/],
    ['a numeric accessToken', oauth({ accessToken: 42 }), 'wrong-type', /accessToken" must be a string, not a number/],
    ['expiresAt as a string', oauth({ expiresAt: '1900000000000' }), 'wrong-type', /expiresAt" must be a number/],
    ['a negative expiresAt', oauth({ expiresAt: -5 }), 'wrong-type', /positive time/],
    ['scopes that are not strings', oauth({ scopes: [1] }), 'wrong-type', /array of strings/],
    ['scopes without user:inference', oauth({ scopes: ['user:profile'] }), 'missing-field', /lacks "user:inference"/],
    ['an empty access token', oauth({ accessToken: '' }), 'missing-field', /accessToken" is empty/],
    ['a file blanked after invalid_grant', oauth({ accessToken: '', refreshToken: '', expiresAt: 0 }), 'blanked', /blanked/],
    ['a numeric subscriptionType', oauth({ subscriptionType: 3 }), 'wrong-type', /subscriptionType/],
  ])('refuses %s with a typed error', (_name, payload, problem, message) => {
    let caught: unknown;
    try {
      parseCredentials(payload);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidCredentialsError);
    expect((caught as InvalidCredentialsError).problem).toBe(problem);
    expect((caught as Error).message).toMatch(message);
  });

  test('refuses a payload over the size limit before parsing it', () => {
    const huge = `{"pad":"${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`;
    expect(() => parseCredentials(huge)).toThrow(/over the 1048576-byte limit/);
  });

  test('refuses invalid UTF-8 bytes', () => {
    expect(() => parseCredentials(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]))).toThrow(/not valid UTF-8/);
  });

  test('an invalid JSON message never quotes the payload (it may hold a token)', () => {
    const fake = makeFakeCredentials();
    const broken = fake.json.slice(0, -2);
    let message = '';
    try {
      parseCredentials(broken);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/not valid JSON/);
    assertNoLeaks('parse error message', message, fake.tokens);
  });

  test('accepts null scopes and subscriptionType as unknown', () => {
    const parsed = parseCredentials(oauth({ scopes: null, subscriptionType: null }));
    expect(parsed.oauth.scopes).toBeUndefined();
    expect(parsed.oauth.subscriptionType).toBeUndefined();
  });
});

describe('freshness order', () => {
  const at = (expiresAt: number) => parseCredentials(oauth({ expiresAt }));

  test.each([
    [2000, 1000, true],
    [1000, 2000, false],
    [1500, 1500, false],
  ])('credentials expiring at %i are newer than ones expiring at %i: %s', (a, b, expected) => {
    expect(isNewer(at(a), at(b))).toBe(expected);
    expect(Math.sign(compareFreshness(at(a), at(b)))).toBe(a === b ? 0 : expected ? 1 : -1);
  });
});

describe('assessExpiry', () => {
  const fields = parseCredentials(oauth({ expiresAt: 10_000_000 })).oauth;
  test.each([
    [0, 60_000, 'valid'],
    [10_000_000 - 60_000, 120_000, 'expiring'],
    [10_000_000, 0, 'expired'],
    [10_000_001, 0, 'expired'],
  ])('at %i with a %i ms warning window the token is %s', (now, warn, state) => {
    const result = assessExpiry(fields, now, warn);
    expect(result.state).toBe(state);
    expect(result.msLeft).toBe(10_000_000 - now);
  });
});
