/**
 * Vault authentication for the provider: the token in VAULT_TOKEN as it is, or a login (Kubernetes,
 * AppRole) whose token is renewed by logging in again before its lease ends, or once after a 403. No
 * token, JWT or secret_id is ever put in a message; `secrets()` names them for scrubbing.
 */
import { ConfigError, PermissionDeniedError, describeCause } from '../../core/errors.js';
import type { VaultHttpPort, VaultHttpResponse } from './client.js';
import { encodeMount, type AuthMethod } from './config.js';
import { isTransient, networkError, scrub, unavailable, vaultErrors } from './errors.js';

export type Intent = 'read' | 'write';

export interface VaultSessionSettings {
  readonly auth: AuthMethod;
  readonly port: VaultHttpPort;
  readonly readText: (path: string) => Promise<string>;
  readonly now: () => number;
  /** The Vault address, for messages. */
  readonly addressText: string;
}

export interface VaultSession {
  /** One KV call with the current token; a login token refused with 403 is replaced once by a new login. */
  kv(method: 'GET' | 'POST', path: string, what: string, body: unknown, signal: AbortSignal | undefined): Promise<VaultHttpResponse>;
  /** Vault's error text for `body`, with every known secret removed. */
  detailOf(body: unknown, status: number): string;
}

export function createVaultSession(settings: VaultSessionSettings): VaultSession {
  const { auth, port, readText, now, addressText } = settings;
  let session: { token: string; renewAt: number } | undefined;
  let jwt: string | undefined;

  /** Every value that must never appear in a message. */
  const secrets = (): string[] => {
    const values: string[] = [];
    if (auth.kind === 'token') values.push(auth.token);
    if (auth.kind === 'approle') values.push(auth.secretId, auth.roleId);
    if (jwt !== undefined) values.push(jwt);
    if (session !== undefined) values.push(session.token);
    return values;
  };
  const detailOf = (body: unknown, status: number) => scrub(vaultErrors(body, status), secrets());

  async function login(signal: AbortSignal | undefined): Promise<string> {
    if (auth.kind === 'token') return auth.token;
    let path: string;
    let body: Record<string, string>;
    let method: string;
    if (auth.kind === 'kubernetes') {
      method = `Kubernetes login at auth/${auth.mount} with role "${auth.role}"`;
      try {
        jwt = (await readText(auth.jwtPath)).trim();
      } catch (error) {
        throw new ConfigError(
          `cannot read the Kubernetes service account token at ${auth.jwtPath} for Vault login (${describeCause(error)}); mount the service account token or set VAULT_K8S_TOKEN_PATH`,
          { cause: error },
        );
      }
      if (jwt === '') throw new ConfigError(`the Kubernetes service account token at ${auth.jwtPath} is empty`);
      path = `auth/${encodeMount(auth.mount)}/login`;
      body = { role: auth.role, jwt };
    } else {
      method = `AppRole login at auth/${auth.mount}`;
      path = `auth/${encodeMount(auth.mount)}/login`;
      body = { role_id: auth.roleId, secret_id: auth.secretId };
    }
    let response: VaultHttpResponse;
    try {
      response = await port.request({ method: 'POST', path, body, signal });
    } catch (error) {
      throw networkError(`Vault ${method} at ${addressText}`, error);
    }
    const { status } = response;
    const detail = detailOf(response.body, status);
    if (status >= 200 && status < 300) {
      const authBlock = (response.body as { auth?: { client_token?: unknown; lease_duration?: unknown } } | undefined)?.auth;
      const token = authBlock?.client_token;
      if (typeof token !== 'string' || token === '') {
        throw new PermissionDeniedError(`Vault ${method} at ${addressText} returned no client token; check the auth method's configuration`);
      }
      const lease = typeof authBlock?.lease_duration === 'number' ? authBlock.lease_duration : 0;
      // Log in again once 80% of the lease is gone (never for a lease of 0, i.e. no expiry).
      session = { token, renewAt: lease > 0 ? now() + lease * 800 : Number.POSITIVE_INFINITY };
      return token;
    }
    if (isTransient(status)) throw unavailable(`Vault ${method} at ${addressText}`, status, detail);
    if (status === 404 || /no handler for route/i.test(detail)) {
      const variable = auth.kind === 'kubernetes' ? 'VAULT_K8S_MOUNT' : 'VAULT_APPROLE_MOUNT';
      throw new ConfigError(`Vault ${method} at ${addressText}: no such auth method (${detail}); enable it or set ${variable} to its mount path`);
    }
    const fix =
      auth.kind === 'kubernetes'
        ? `check that role "${auth.role}" exists and binds this pod's service account and namespace, and that ${auth.jwtPath} holds the pod's service account token`
        : 'check VAULT_ROLE_ID and VAULT_SECRET_ID (a secret_id may have expired or reached its use limit)';
    throw new PermissionDeniedError(`Vault refused the ${method} (${status}: ${detail}); ${fix}`);
  }

  async function token(signal: AbortSignal | undefined): Promise<{ token: string; fresh: boolean }> {
    if (auth.kind === 'token') return { token: auth.token, fresh: false };
    if (session !== undefined && now() < session.renewAt) return { token: session.token, fresh: false };
    return { token: await login(signal), fresh: true };
  }

  return {
    detailOf,
    async kv(method, path, what, body, signal) {
      for (let attempt = 1; ; attempt += 1) {
        const current = await token(signal);
        let response: VaultHttpResponse;
        try {
          response = await port.request({ method, path, token: current.token, body, signal });
        } catch (error) {
          throw networkError(what, error);
        }
        if (response.status === 403 && auth.kind !== 'token' && !current.fresh && attempt === 1) {
          session = undefined; // expired or revoked: log in again and repeat once
          continue;
        }
        return response;
      }
    },
  };
}
