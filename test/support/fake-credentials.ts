import { randomBytes } from 'node:crypto';

/**
 * Clearly fake credentials for tests. Every token contains FAKE and a random part, so a leak check can
 * grep for the exact values and no fixture can be mistaken for a real login.
 */
export interface FakeCredentialsOptions {
  readonly expiresAt?: number;
  readonly scopes?: readonly string[];
  readonly subscriptionType?: string;
  readonly extraTopLevel?: Record<string, unknown>;
  readonly extraOAuth?: Record<string, unknown>;
}

export interface FakeCredentials {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt: number;
  /** The JSON document as the Claude CLI writes it. */
  readonly json: string;
  readonly base64: string;
  readonly tokens: readonly string[];
}

/** Every fake token this test process has made: the leak check greps all captured output for them. */
export const issuedFakeTokens = new Set<string>();

export function fakeToken(kind: 'oat' | 'ort'): string {
  const token = `sk-ant-${kind}01-FAKE-TEST-${randomBytes(24).toString('hex')}`;
  issuedFakeTokens.add(token);
  return token;
}

export function makeFakeCredentials(options: FakeCredentialsOptions = {}): FakeCredentials {
  const accessToken = fakeToken('oat');
  const refreshToken = fakeToken('ort');
  const expiresAt = options.expiresAt ?? Date.now() + 8 * 3600_000;
  const document = {
    claudeAiOauth: {
      accessToken,
      refreshToken,
      expiresAt,
      scopes: options.scopes ?? ['user:inference', 'user:profile', 'user:sessions:claude_code'],
      subscriptionType: options.subscriptionType ?? 'max',
      ...options.extraOAuth,
    },
    ...options.extraTopLevel,
  };
  const json = JSON.stringify(document);
  return { accessToken, refreshToken, expiresAt, json, base64: Buffer.from(json).toString('base64'), tokens: [accessToken, refreshToken] };
}
