import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { INFERENCE_SCOPE, MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES, parseCredentials, type Credentials } from '../../src/core/credentials.js';
import { InvalidCredentialsError } from '../../src/core/errors.js';
import { SYNC_META_KEY, compareLogins, isFromClockAhead } from '../../src/core/freshness.js';
import { LEASE_KEY, decideSync, localCopyText, storeCopyText, type SideState } from '../../src/core/merge.js';
import { fatalLines, fatalMessage, runCli } from '../support/cli.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { figure, inPool } from './support.js';

const MAX_DATE_MS = 8.64e15;
const RUNS = 400;

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

/** The README's rules for an acceptable document, written out independently of the parser. */
function acceptable(document: unknown): boolean {
  if (!isRecord(document) || depthOf(document) > MAX_NESTING_DEPTH) return false;
  const oauth = document.claudeAiOauth;
  if (!isRecord(oauth)) return false;
  const { accessToken, refreshToken, expiresAt, scopes, subscriptionType } = oauth;
  if (typeof accessToken !== 'string' || accessToken === '' || typeof refreshToken !== 'string' || refreshToken === '') return false;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= 0 || expiresAt > MAX_DATE_MS) return false;
  if (scopes !== undefined && scopes !== null) {
    if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string') || !scopes.includes(INFERENCE_SCOPE)) return false;
  }
  return subscriptionType === undefined || subscriptionType === null || typeof subscriptionType === 'string';
}

type Outcome = { readonly ok: true; readonly credentials: Credentials } | { readonly ok: false; readonly error: InvalidCredentialsError };

/** parseCredentials, where anything thrown other than InvalidCredentialsError fails the property. */
function attempt(payload: string | Uint8Array, requireRefreshToken = true): Outcome {
  try {
    return { ok: true, credentials: parseCredentials(payload, { requireRefreshToken }) };
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return { ok: false, error };
    throw error;
  }
}

/** What every accepted payload must satisfy, whatever it looked like. */
function expectUsable(credentials: Credentials): void {
  const { accessToken, refreshToken, expiresAt, scopes } = credentials.oauth;
  expect(accessToken).not.toBe('');
  expect(refreshToken).not.toBe('');
  expect(Number.isFinite(expiresAt) && expiresAt > 0).toBe(true);
  expect(() => new Date(expiresAt).toISOString()).not.toThrow();
  if (scopes !== undefined) expect(scopes).toContain(INFERENCE_SCOPE);
  expect(JSON.parse(credentials.text)).toEqual(credentials.document);
  expect(() => JSON.stringify(credentials.document)).not.toThrow();
}

const ABSENT = Symbol('absent');
const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const token = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 40 }), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), weight: 3 },
  { arbitrary: fc.constant(''), weight: 1 },
);
const expiresAt = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 4_102_444_800_000 }), weight: 8 },
  fc.constantFrom(0, -1, -Date.now(), Number.NaN, Number.POSITIVE_INFINITY, 1e308, 1e16, MAX_DATE_MS, MAX_DATE_MS + 1, 0.5, Number.MIN_VALUE),
  fc.double(),
  fc.constantFrom('1735689600000', null),
);
const scopes = fc.oneof(
  { arbitrary: fc.constant([INFERENCE_SCOPE, 'user:profile']), weight: 5 },
  fc.array(fc.constantFrom(INFERENCE_SCOPE, 'user:profile', 'org:create_api_key'), { maxLength: 3 }),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.constant('user:inference'),
  fc.constant(null),
);
/** A value nested `depth` levels deep, to cross the nesting limit from both sides. */
const nested = fc.integer({ min: 1, max: 120 }).map((depth) => {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = level % 2 === 0 ? [value] : { k: value };
  return value;
});
const maybe = <T>(arbitrary: fc.Arbitrary<T>, weight = 12) => fc.oneof({ arbitrary, weight }, { arbitrary: fc.oneof(fc.constant(ABSENT), junk), weight: 1 });

/** Credentials-shaped documents, mostly valid, with every field now and then missing, wrong or extreme. */
const documentArb = fc
  .record({
    accessToken: maybe(token),
    refreshToken: maybe(token),
    expiresAt: maybe(expiresAt),
    scopes: fc.oneof({ arbitrary: scopes, weight: 3 }, { arbitrary: fc.constant(ABSENT), weight: 1 }),
    subscriptionType: fc.oneof({ arbitrary: fc.constantFrom('max', 'pro', null, ABSENT), weight: 8 }, { arbitrary: junk, weight: 1 }),
    extraTop: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
    deep: fc.option(nested, { freq: 4 }),
    oauthShape: fc.constantFrom(...Array<'object'>(12).fill('object'), 'array', 'string', 'absent'),
  })
  .map(({ accessToken, refreshToken, expiresAt, scopes, subscriptionType, extraTop, deep, oauthShape }) => {
    const oauth: Json = {};
    for (const [key, value] of Object.entries({ accessToken, refreshToken, expiresAt, scopes, subscriptionType })) {
      if (value !== ABSENT) oauth[key] = value;
    }
    const document: Json = { ...extraTop };
    if (oauthShape === 'object') document.claudeAiOauth = oauth;
    if (oauthShape === 'array') document.claudeAiOauth = [oauth];
    if (oauthShape === 'string') document.claudeAiOauth = JSON.stringify(oauth);
    if (deep !== null) document.unknownDeep = deep;
    return document;
  });

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The ways a payload arrives: the JSON text (`canonical`) is what must land on disk when it is accepted. */
const ENCODINGS = {
  json: (text: string) => text,
  bom: (text: string) => `\ufeff${text}`,
  base64,
  'base64-url-alphabet-unpadded': (text: string) => base64(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  'base64-wrapped-crlf': (text: string) => `  ${base64(text).replace(/(.{76})/g, '$1\r\n')}\r\n`,
  'bom-then-base64': (text: string) => `\ufeff${base64(text)}`,
  'base64-of-bom-json': (text: string) => base64(`\ufeff${text}`),
} as const;
type EncodingName = keyof typeof ENCODINGS;

const payloadArb = fc.record({
  document: documentArb,
  layout: fc.constantFrom('compact', 'pretty-crlf', 'duplicate-key'),
  encoding: fc.constantFrom(...(Object.keys(ENCODINGS) as EncodingName[])),
  bytes: fc.boolean(),
  junkOauth: junk,
}).map(({ document, layout, encoding, bytes, junkOauth }) => {
  let canonical = layout === 'pretty-crlf' ? JSON.stringify(document, null, 2).replace(/\n/g, '\r\n') : JSON.stringify(document);
  // A duplicate key: JSON.parse keeps the last one, as the Claude CLI does, so the first must not count.
  if (layout === 'duplicate-key' && canonical !== '{}') canonical = `{"claudeAiOauth":${JSON.stringify(junkOauth)},${canonical.slice(1)}`;
  const text = ENCODINGS[encoding](canonical);
  return { canonical, encoding, payload: bytes ? new TextEncoder().encode(text) : text };
});

describe('parseCredentials never crashes: a typed error or a usable result', () => {
  test('credentials-shaped documents in every encoding are accepted exactly when the README says so', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(payloadArb, ({ canonical, payload }) => {
        const outcome = attempt(payload);
        const expected = acceptable(JSON.parse(canonical));
        expect(outcome.ok).toBe(expected);
        if (outcome.ok) {
          accepted += 1;
          expectUsable(outcome.credentials);
          // The bytes stored are the bytes written: the JSON text itself, BOM and base64 removed.
          expect(outcome.credentials.text).toBe(canonical);
        } else {
          refused += 1;
          expect(outcome.error.message).not.toMatch(/\n/);
        }
      }),
      { numRuns: RUNS * 3 },
    );
    figure('bad input: credentials-shaped payloads (in-process)', { runs: accepted + refused, accepted, refused_typed: refused, other_errors: 0 });
  });

  test.each([
    ['any string (full Unicode, lone surrogates)', fc.string({ unit: 'binary', maxLength: 300 })],
    ['any bytes (invalid UTF-8)', fc.uint8Array({ maxLength: 300 })],
    ['any JSON text', fc.json({ maxDepth: 6 })],
    ['base64-looking text', fc.base64String({ maxLength: 300 })],
    ['JSON with claudeAiOauth of any value', fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify({ claudeAiOauth: value }))],
  ] as Array<[string, fc.Arbitrary<string | Uint8Array>]>)('%s', (label, arbitrary) => {
    let runs = 0;
    fc.assert(
      fc.property(arbitrary, (payload) => {
        runs += 1;
        const outcome = attempt(payload);
        if (outcome.ok) expectUsable(outcome.credentials);
      }),
      { numRuns: RUNS },
    );
    figure(`bad input: ${label} (in-process)`, { runs, crashes: 0 });
  });

  test('payloads over 1 MiB are refused before parsing, as text and as bytes; 1 MiB exactly is fine', () => {
    const good = makeFakeCredentials().json;
    const padded = (size: number) => `${good.slice(0, -1)},"pad":"${'x'.repeat(size - good.length - 9)}"}`;
    expect(Buffer.byteLength(padded(MAX_PAYLOAD_BYTES))).toBe(MAX_PAYLOAD_BYTES);
    expect(attempt(padded(MAX_PAYLOAD_BYTES)).ok).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: MAX_PAYLOAD_BYTES + 1, max: MAX_PAYLOAD_BYTES + 4096 }), fc.boolean(), (size, asBytes) => {
        const text = padded(size);
        const outcome = attempt(asBytes ? Buffer.from(text) : text);
        expect(outcome.ok || outcome.error.problem).toBe('too-large');
      }),
      { numRuns: 10 },
    );
    // Multi-byte characters count as bytes, not as UTF-16 units.
    expect(attempt(`{"x":"${'é'.repeat(MAX_PAYLOAD_BYTES / 2)}"}`)).toMatchObject({ ok: false, error: { problem: 'too-large' } });
  });

  test('a 1 MiB bracket bomb is refused without overflowing the stack', () => {
    const depth = (MAX_PAYLOAD_BYTES - 100) / 2;
    const bomb = `{"claudeAiOauth":{"accessToken":"a","refreshToken":"r","expiresAt":1},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(attempt(bomb)).toMatchObject({ ok: false, error: { problem: 'too-large' } });
  });
});

/** Valid credentials of chosen freshness, sometimes with unknown keys, a lease, or no refresh token. */
const credentialsArb = (requireRefreshToken: boolean) =>
  fc
    .record({
      expiresAt: fc.integer({ min: 1, max: 50 }).map((hours) => 1_800_000_000_000 + hours * 3600_000),
      extraTop: fc.dictionary(fc.constantFrom('a', 'b', 'oauthAccount', 'mcp'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
      extraOAuth: fc.dictionary(fc.constantFrom('x', 'y', 'rateLimitTier'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
      lease: fc.boolean(),
      accessOnly: fc.boolean(),
    })
    .map(({ expiresAt, extraTop, extraOAuth, lease, accessOnly }) => {
      const fake = makeFakeCredentials({ expiresAt, extraTopLevel: { ...extraTop, ...(lease ? { [LEASE_KEY]: { holder: 'h', until: 1 } } : {}) }, extraOAuth });
      const document = JSON.parse(fake.json) as { claudeAiOauth: Json };
      if (!requireRefreshToken && accessOnly) delete document.claudeAiOauth.refreshToken;
      return parseCredentials(JSON.stringify(document), { requireRefreshToken });
    });

const blanked = parseAttemptReason(JSON.stringify({ claudeAiOauth: { accessToken: '', refreshToken: '', expiresAt: 1_900_000_000_000 } }));
function parseAttemptReason(text: string): string {
  const outcome = attempt(text);
  if (outcome.ok) throw new Error('expected a refused document');
  return outcome.error.message;
}

const sideArb = (requireRefreshToken: boolean): fc.Arbitrary<SideState> =>
  fc.oneof(
    { arbitrary: credentialsArb(requireRefreshToken).map((credentials): SideState => ({ kind: 'valid', credentials })), weight: 6 },
    { arbitrary: fc.constant<SideState>({ kind: 'missing' }), weight: 1 },
    { arbitrary: fc.constant<SideState>({ kind: 'invalid', reason: blanked }), weight: 1 },
  );

describe('the sync rules (decideSync, localCopyText, storeCopyText)', () => {
  test('never pick an older login or a token from a clock far ahead, never push an invalid, blanked or access-only side, and converge in one step', () => {
    const counts = { push: 0, pull: 0, 'in-sync': 0 };
    const now = Date.now();
    const meta = { generation: 1, writtenAt: now, writer: 'property' };
    fc.assert(
      fc.property(sideArb(false), sideArb(true), fc.boolean(), (local, store, accessOnly) => {
        const direction = decideSync(local, store, now);
        counts[direction] += 1;
        const localCreds = local.kind === 'valid' ? local.credentials : undefined;
        const storeCreds = store.kind === 'valid' ? store.credentials : undefined;
        if (direction === 'push') {
          expect(localCreds?.oauth.refreshToken).toBeTruthy();
          if (storeCreds) {
            const order = compareLogins(localCreds as Credentials, storeCreds);
            expect(order).not.toBe('older');
            if (order !== 'newer') {
              expect(localCreds?.oauth.expiresAt).toBeGreaterThan(storeCreds.oauth.expiresAt);
              expect(isFromClockAhead(localCreds as Credentials, now)).toBe(false);
            }
          }
          const pushed = parseCredentials(storeCopyText(localCreds as Credentials, storeCreds, meta));
          expect(pushed.oauth).toEqual(localCreds?.oauth);
          // The store's own keys survive the push; the lease is the one key that never travels.
          for (const key of Object.keys(storeCreds?.document ?? {})) if (key !== LEASE_KEY && key !== 'claudeAiOauth') expect(pushed.document).toHaveProperty([key]);
          expect(pushed.document).not.toHaveProperty([LEASE_KEY]);
          // Idempotent: the store now holds it, nothing is left to do, and pushing again changes nothing.
          expect(decideSync(local, { kind: 'valid', credentials: pushed }, now)).toBe('in-sync');
          expect(storeCopyText(localCreds as Credentials, pushed, meta)).toBe(pushed.text);
        }
        if (direction === 'pull') {
          expect(storeCreds).toBeDefined();
          if (localCreds) expect(compareLogins(localCreds, storeCreds as Credentials)).not.toBe('newer');
          const text = localCopyText(storeCreds as Credentials, { document: localCreds?.document, credentials: localCreds }, { accessOnly });
          const pulled = parseCredentials(text, { requireRefreshToken: !accessOnly });
          expect(pulled.oauth.accessToken).toBe(storeCreds?.oauth.accessToken);
          expect(pulled.oauth.expiresAt).toBe(storeCreds?.oauth.expiresAt);
          expect(pulled.oauth.refreshToken).toBe(accessOnly ? '' : storeCreds?.oauth.refreshToken);
          expect(pulled.document).not.toHaveProperty([LEASE_KEY]);
          // The worker's own top-level keys stay its own.
          for (const key of Object.keys(localCreds?.document ?? {})) if (key !== LEASE_KEY && key !== SYNC_META_KEY) expect(pulled.document).toHaveProperty([key]);
          expect(decideSync({ kind: 'valid', credentials: pulled }, store, now)).toBe('in-sync');
          expect(localCopyText(storeCreds as Credentials, { document: pulled.document, credentials: pulled }, { accessOnly })).toBe(text);
        }
        if (local.kind !== 'valid') expect(direction).not.toBe('push');
        if (store.kind !== 'valid') expect(direction).not.toBe('pull');
      }),
      { numRuns: RUNS * 2 },
    );
    figure('bad input: sync rules (in-process)', { runs: counts.push + counts.pull + counts['in-sync'], push: counts.push, pull: counts.pull, in_sync: counts['in-sync'], violations: 0 });
  });
});

describe('fetch through the real CLI never writes a bad payload', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claude-creds-bad-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  test('a few dozen generated bad payloads in CLAUDE_CREDENTIALS_JSON: exit 65, one line, no stack, the old file intact', async () => {
    const seed = Date.now() % 2 ** 31;
    const bad = fc
      .sample(payloadArb, { numRuns: 2000, seed })
      .filter(({ canonical, payload }) => typeof payload === 'string' && !acceptable(JSON.parse(canonical)))
      .map(({ payload, encoding }) => ({ payload: payload as string, encoding }))
      .slice(0, 30);
    // Generated documents rarely hit the parser's outer limits: add them by hand.
    const good = makeFakeCredentials();
    bad.push(
      { payload: good.json.replace(/"expiresAt":\d+/, '"expiresAt":1e16'), encoding: 'json' },
      { payload: `${good.json.slice(0, -1)},"x":${'['.repeat(5000)}${']'.repeat(5000)}}`, encoding: 'json' },
      { payload: '\ufeff\ufeff{}', encoding: 'bom' },
    );
    const started = Date.now();
    const results = await inPool(bad, 3, async ({ payload }, index) => {
      const out = join(work, `case-${index}`, '.credentials.json');
      mkdirSync(join(work, `case-${index}`));
      writeFileSync(out, good.json, { mode: 0o600 });
      const result = await runCli(['fetch', '--out', out], { env: { CLAUDE_CREDENTIALS_JSON: payload } });
      return { result, after: readFileSync(out, 'utf8'), temps: readdirSync(join(work, `case-${index}`)).length - 1 };
    });
    for (const [index, { result, after, temps }] of results.entries()) {
      const what = `payload ${index} (${bad[index]?.encoding}, seed ${seed}): ${JSON.stringify(bad[index]?.payload).slice(0, 200)}`;
      expect(result.code, `${what}\n${result.stderr}`).toBe(65);
      expect(fatalLines(result.stderr), what).toEqual([expect.objectContaining({ exitCode: 65 })]);
      expect(result.stderr, what).not.toMatch(/\n\s+at /);
      expect(after, what).toBe(good.json);
      expect(temps, what).toBe(0);
    }
    figure('bad input: through the CLI', { seed, payloads: results.length, exit_65: results.length, files_changed: 0, ms: Date.now() - started });
  }, 60_000);

  test.each<[string, Uint8Array]>([
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ['a NUL byte inside JSON', Buffer.from('{"claudeAiOauth":\u0000}')],
    ['1 MiB + 1 byte', Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20)],
  ])('a store file holding %s: exit 65, the old file intact', async (_label, bytes) => {
    const dir = mkdtempSync(join(work, 'file-'));
    const store = join(dir, 'store.json');
    writeFileSync(store, bytes);
    const good = makeFakeCredentials().json;
    const out = join(dir, 'out', '.credentials.json');
    mkdirSync(join(dir, 'out'));
    writeFileSync(out, good, { mode: 0o600 });
    const result = await runCli(['fetch', '--provider', 'file', '--secret', store, '--out', out]);
    expect(result.code, result.stderr).toBe(65);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(out, 'utf8')).toBe(good);
  });
});

describe('hostile --out paths are refused (exit 73) and nothing is written elsewhere', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claude-creds-hostile-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  interface Hostile {
    readonly out: string;
    /** Files outside that must be exactly as they were. */
    readonly elsewhere: string;
    readonly check: () => void;
  }

  const setups: Array<[string, (dir: string) => Hostile, RegExp]> = [
    [
      'a symlink to a file',
      (dir) => {
        writeFileSync(join(dir, 'victim'), 'do not touch');
        symlinkSync(join(dir, 'victim'), join(dir, '.credentials.json'));
        return { out: join(dir, '.credentials.json'), elsewhere: dir, check: () => expect(lstatSync(join(dir, '.credentials.json')).isSymbolicLink()).toBe(true) };
      },
      /is a symbolic link; refusing to replace or follow it/,
    ],
    [
      'a symlink to a directory as the parent',
      (dir) => {
        mkdirSync(join(dir, 'real'));
        symlinkSync(join(dir, 'real'), join(dir, 'link'));
        return { out: join(dir, 'link', '.credentials.json'), elsewhere: join(dir, 'real'), check: () => undefined };
      },
      /is a symbolic link; refusing to write credentials through it/,
    ],
    [
      'a FIFO at the target',
      (dir) => {
        execFileSync('mkfifo', [join(dir, '.credentials.json')]);
        return { out: join(dir, '.credentials.json'), elsewhere: dir, check: () => expect(lstatSync(join(dir, '.credentials.json')).isFIFO()).toBe(true) };
      },
      /exists and is not a regular file \(a FIFO\)/,
    ],
    [
      '/dev/null',
      (dir) => ({ out: '/dev/null', elsewhere: dir, check: () => expect(statSync('/dev/null').isCharacterDevice()).toBe(true) }),
      /\/dev\/null exists and is not a regular file \(a device\)/,
    ],
  ];

  const snapshot = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

  test.each(setups)('%s', async (label, setup, message) => {
    const dir = mkdtempSync(join(work, 'case-'));
    const hostile = setup(dir);
    const before = snapshot(hostile.elsewhere);
    const victim = join(dir, 'victim');
    const result = await runCli(['fetch', '--out', hostile.out], { env: { CLAUDE_CREDENTIALS_B64: makeFakeCredentials().base64 }, timeoutMs: 10_000 });
    expect(result.code, result.stderr).toBe(73);
    expect(fatalMessage(result.stderr)).toMatch(message);
    expect(snapshot(hostile.elsewhere)).toEqual(before);
    if (label === 'a symlink to a file') expect(readFileSync(victim, 'utf8')).toBe('do not touch');
    hostile.check();
    figure(`hostile path: ${label}`, { exit: result.code ?? 'signal', written_elsewhere: 0 });
  });

  test('`..` after a symlinked directory is resolved as written, never into the link target\'s parent', async () => {
    const dir = mkdtempSync(join(work, 'dots-'));
    mkdirSync(join(dir, 'outside', 'deep'), { recursive: true });
    mkdirSync(join(dir, 'cfg'));
    symlinkSync(join(dir, 'outside', 'deep'), join(dir, 'cfg', 'link'));
    const fake = makeFakeCredentials();
    // The kernel would take cfg/link/.. to outside/; the path as written means cfg/.
    const result = await runCli(['fetch', '--out', join(dir, 'cfg', 'link', '..', '.credentials.json')], { env: { CLAUDE_CREDENTIALS_B64: fake.base64 } });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'cfg', '.credentials.json'), 'utf8')).toBe(fake.json);
    expect(snapshot(join(dir, 'outside'))).toEqual(['deep']);
  });
});
