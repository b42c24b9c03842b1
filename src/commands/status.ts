/**
 * status: what the local credentials file holds, for people and for health probes. Never a token value.
 */
import { assessExpiry, type ExpiryState } from '../core/credentials.js';
import { formatDuration } from '../core/duration.js';
import { isClaudeCredsError } from '../core/errors.js';
import { readLocalCredentials, type LocalCredentials } from '../io/local-credentials.js';
import { pathType } from '../io/path-type.js';
import { printable } from '../core/printable.js';

export type StatusState = ExpiryState | 'invalid' | 'missing';

/** Exit codes of `status`, distinct so a probe or script can tell the states apart. */
export const STATUS_EXIT: Record<StatusState, number> = {
  valid: 0,
  expiring: 1,
  expired: 2,
  invalid: 3,
  missing: 4,
};

export interface StatusReport {
  readonly path: string;
  readonly state: StatusState;
  readonly present: boolean;
  readonly valid: boolean;
  readonly problem?: string;
  readonly subscriptionType?: string | null;
  readonly scopes?: readonly string[] | null;
  readonly expiresAt?: string | null;
  readonly expiresInSeconds?: number;
  readonly hasRefreshToken?: boolean;
  /** When the login itself ends (about 30 days after `claude login`), when the file says. */
  readonly loginEndsAt?: string | null;
  readonly loginEndsInSeconds?: number;
  /** The login ends within the login warning time: `claude login` and `claude-creds push` are due. */
  readonly loginExpiring?: boolean;
  /** Set for the api-key and oauth-token kinds only (see commands/kinds.ts); oauth reports stay as they were. */
  readonly kind?: 'api-key' | 'oauth-token';
  /** When the key or token was last read from the store. */
  readonly fetchedAt?: string;
  readonly cacheAgeSeconds?: number;
  /** api-key: whether settings.json names an apiKeyHelper. */
  readonly helperConfigured?: boolean;
}

/** What status read: the classified file, or something at the path that is no readable credentials file. */
export type StatusInput = LocalCredentials | { readonly state: 'unreadable'; readonly problem: string };

/**
 * The local file as status sees it. A directory, a FIFO, a file it may not read: all "invalid" (exit 3)
 * with the reason, so a probe gets one of its documented codes (0-4), never a configuration error.
 */
export async function readStatusInput(path: string): Promise<StatusInput> {
  if ((await pathType(path)) === 'directory') {
    return { state: 'unreadable', problem: `${path} is a directory, not a credentials file (give the file's path with --out)` };
  }
  try {
    return await readLocalCredentials(path);
  } catch (error) {
    if (isClaudeCredsError(error)) return { state: 'unreadable', problem: error.message };
    throw error;
  }
}

export function buildStatusReport(path: string, local: StatusInput, now: number, warnBeforeMs: number, loginWarnBeforeMs = 0): StatusReport {
  if (local.state === 'missing') return { path, state: 'missing', present: false, valid: false, problem: `${path} does not exist` };
  if (local.state === 'unreadable') return { path, state: 'invalid', present: true, valid: false, problem: local.problem };
  if (local.state === 'invalid') {
    return { path, state: 'invalid', present: true, valid: false, problem: local.error.message };
  }
  const { oauth } = local.credentials;
  const expiry = assessExpiry(oauth, now, warnBeforeMs);
  const loginEnd = oauth.refreshTokenExpiresAt;
  const loginExpiring = loginEnd !== undefined && loginEnd - now <= loginWarnBeforeMs;
  return {
    path,
    // A login that ends soon is "expiring" even while its access token is fresh: only a new login helps.
    state: expiry.state === 'valid' && loginExpiring ? 'expiring' : expiry.state,
    present: true,
    valid: expiry.state !== 'expired',
    subscriptionType: oauth.subscriptionType ?? null,
    scopes: oauth.scopes ?? null,
    expiresAt: new Date(oauth.expiresAt).toISOString(),
    expiresInSeconds: Math.round(expiry.msLeft / 1000),
    hasRefreshToken: oauth.refreshToken !== '',
    loginEndsAt: loginEnd === undefined ? null : new Date(loginEnd).toISOString(),
    ...(loginEnd === undefined ? {} : { loginEndsInSeconds: Math.round((loginEnd - now) / 1000), loginExpiring }),
  };
}

/**
 * The report for people. Every field that came from outside (the path, a problem that quotes the file,
 * the document's subscriptionType and scopes) goes through printable(): an ESC sequence in the file
 * cannot drive the terminal, and a newline cannot forge an `expires:` line.
 */
export function formatStatusText(report: StatusReport): string {
  const lines = [`${printable(report.path)}: ${report.state}`];
  if (report.kind !== undefined) lines.push(`  kind: ${report.kind}`);
  if (report.problem) lines.push(`  problem: ${printable(report.problem)}`);
  if (report.expiresAt === null) lines.push('  expires: unknown (the secret held a bare token)');
  if (report.cacheAgeSeconds !== undefined) lines.push(`  cached key: fetched ${formatDuration(report.cacheAgeSeconds * 1000)} ago`);
  if (report.helperConfigured !== undefined) lines.push(`  settings.json apiKeyHelper: ${report.helperConfigured ? 'set' : 'not set'}`);
  if (report.expiresAt !== undefined && report.expiresInSeconds !== undefined) {
    const left = report.expiresInSeconds * 1000;
    lines.push(`  expires: ${report.expiresAt} (${left > 0 ? `in ${formatDuration(left)}` : `${formatDuration(-left)} ago`})`);
  }
  if (report.subscriptionType !== undefined) lines.push(`  subscription: ${report.subscriptionType === null ? 'unknown' : printable(report.subscriptionType)}`);
  if (report.scopes !== undefined) lines.push(`  scopes: ${report.scopes === null ? 'unknown' : report.scopes.map((scope) => printable(scope)).join(' ')}`);
  if (report.hasRefreshToken !== undefined) lines.push(`  refresh token: ${report.hasRefreshToken ? 'present' : 'absent'}`);
  if (report.loginEndsAt === null) lines.push('  login ends: unknown (the file does not say; older Claude CLIs do not record it)');
  else if (report.loginEndsAt !== undefined && report.loginEndsInSeconds !== undefined) {
    const left = report.loginEndsInSeconds * 1000;
    const advice = report.loginExpiring ? ' — run `claude login` and `claude-creds push` before then' : '';
    lines.push(`  login ends: ${report.loginEndsAt} (${left > 0 ? `in ${formatDuration(left)}` : `${formatDuration(-left)} ago`})${advice}`);
  }
  return `${lines.join('\n')}\n`;
}
