/**
 * Kubernetes `Status` answers and transport failures as claude-creds' typed errors, each one line that says
 * what to do: a 403 names the verb, resource, name and namespace and the `kubectl create role` that grants
 * it; a 404 the `kubectl create secret generic` that makes the Secret; an unreachable server is
 * "unavailable" (retried by the shared policy). Messages hold names only: never a token or a value.
 */
import {
  ClaudeCredsError,
  ConfigError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  StoreUnavailableError,
  describeCause,
} from '../../core/errors.js';
import { printable } from '../../core/printable.js';

export type Verb = 'get' | 'update' | 'create';

export interface CallContext {
  readonly verb: Verb;
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  /** The API server's origin, e.g. https://10.96.0.1:443. */
  readonly server: string;
  /** Who we are, e.g. `the pod's service account (token at ...)`. */
  readonly identity: string;
  readonly inCluster: boolean;
  /** Values that must never appear in a message (tokens in use). */
  readonly secrets: readonly string[];
}

interface Status {
  readonly message: string;
  readonly reason: string;
  readonly kind: string | undefined;
}

function statusOf(body: unknown, code: number, secrets: readonly string[]): Status {
  const record = (typeof body === 'object' && body !== null ? body : {}) as { message?: unknown; reason?: unknown; details?: { kind?: unknown } };
  const message = typeof record.message === 'string' && record.message.trim() !== '' ? scrub(record.message, secrets) : `HTTP ${code}`;
  return { message, reason: typeof record.reason === 'string' ? record.reason : '', kind: typeof record.details?.kind === 'string' ? record.details.kind : undefined };
}

/** A 404 about the namespace (a create in a namespace that does not exist), not about the Secret. */
export function namespaceMissing(body: unknown): boolean {
  const status = statusOf(body, 404, []);
  return status.kind === 'namespaces' || /^namespaces "[^"]+" not found/.test(status.message);
}

const secretWord = (c: CallContext) => `Secret "${c.name}" in namespace "${c.namespace}"`;

/** The `kubectl` lines that grant what was refused, limited to this one Secret where RBAC can limit it. */
export function grantCommand(c: CallContext, subject: string): string {
  if (c.verb === 'create') {
    // RBAC cannot limit create by resourceNames (the name is not known when the request is authorized).
    return (
      `kubectl create role claude-creds-push --namespace ${c.namespace} --verb=create --resource=secrets && ` +
      `kubectl create rolebinding claude-creds-push --namespace ${c.namespace} --role=claude-creds-push ${subject} ` +
      `(create cannot be limited to one name: grant it only where push runs, or create the Secret yourself with kubectl create secret generic ${c.name} --namespace ${c.namespace} --from-file=${c.key}=$HOME/.claude/.credentials.json)`
    );
  }
  return (
    `kubectl create role claude-creds --namespace ${c.namespace} --verb=get,update --resource=secrets --resource-name=${c.name} && ` +
    `kubectl create rolebinding claude-creds --namespace ${c.namespace} --role=claude-creds ${subject} (the README's Kubernetes section has the full Role)`
  );
}

/** `--serviceaccount=ns:sa` / `--user=name` from the API server's Forbidden message. */
function subjectOf(message: string, c: CallContext): string {
  const user = /User "([^"]+)"/.exec(message)?.[1];
  const account = user === undefined ? undefined : /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
  if (account?.[1] !== undefined && account[2] !== undefined) return `--serviceaccount=${account[1]}:${account[2]}`;
  if (user !== undefined && !user.startsWith('system:anonymous')) return `--user=${user}`;
  return `--serviceaccount=${c.namespace}:SERVICE_ACCOUNT`;
}

export function statusError(code: number, body: unknown, c: CallContext): ClaudeCredsError {
  const status = statusOf(body, code, c.secrets);
  const detail = `${code}${status.reason === '' ? '' : ` ${status.reason}`}: ${status.message}`;
  if (code === 401) {
    const hint = c.inCluster
      ? 'the service account token is expired, revoked, or from another cluster'
      : 'log in again (the kubeconfig\'s token or exec plugin credential is expired or wrong)';
    return new PermissionDeniedError(`the API server ${c.server} did not accept the credentials of ${c.identity} (401 Unauthorized); ${hint}`);
  }
  if (code === 403) {
    const user = /User "([^"]+)"/.exec(status.message)?.[1];
    const who = user === undefined ? c.identity : `User "${user}"`;
    return new PermissionDeniedError(
      `permission denied: ${who} cannot ${c.verb} secrets "${c.name}" in namespace "${c.namespace}" (403 Forbidden); grant it with: ${grantCommand(c, subjectOf(status.message, c))}`,
    );
  }
  if (code === 404) {
    if (namespaceMissing(body)) {
      return new NotFoundError(`the namespace "${c.namespace}" does not exist on ${c.server} (${detail}); check --secret namespace/name`);
    }
    return new NotFoundError(
      `${secretWord(c)} was not found on ${c.server}; create it with: kubectl create secret generic ${c.name} --namespace ${c.namespace} --from-file=${c.key}=$HOME/.claude/.credentials.json (or claude-creds push)`,
    );
  }
  if (code === 409) return new ConflictError(`${secretWord(c)} changed since it was read (${detail}); re-read it and decide again`);
  if (code === 422) {
    const immutable = /immutable/i.test(status.message) ? '; the Secret is immutable: recreate it without "immutable: true"' : '';
    return new ConfigError(`the API server refused to ${c.verb} ${secretWord(c)} (${detail})${immutable}`);
  }
  if (code === 429) return new StoreUnavailableError(`the API server ${c.server} is throttling (${detail}); retrying`);
  if (code === 408 || code >= 500 || code === 0) return new StoreUnavailableError(`the API server ${c.server} failed for now (${detail})`);
  return new ConfigError(`unexpected answer from the API server ${c.server} to ${c.verb} ${secretWord(c)} (${detail})`);
}

/** A request that got no answer: TLS trouble is configuration; everything else is "unavailable", retried. */
export function transportError(error: unknown, c: CallContext): ClaudeCredsError {
  if (error instanceof ClaudeCredsError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  const codeText = typeof code === 'string' ? code : '';
  if (/CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO_VERIFY|HOSTNAME|ERR_OSSL/i.test(codeText)) {
    const where = c.inCluster ? 'the ca.crt beside the service account token' : 'the kubeconfig cluster\'s certificate-authority-data';
    return new ConfigError(`the API server ${c.server}'s TLS certificate is not trusted (${codeText}); check ${where}, or pass --ca-file`, { cause: error });
  }
  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return new StoreUnavailableError(`the API server ${c.server} did not answer in time`, { cause: error });
  }
  const why = codeText !== '' ? codeText : scrub(describeCause(error), c.secrets).slice(0, 200);
  return new StoreUnavailableError(`the API server ${c.server} is unavailable (${why})`, { cause: error });
}

/** Drop every known secret and anything token- or document-shaped; bounded. */
export function scrub(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  const bounded = clean
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/sk-ant-[A-Za-z0-9_-]+/g, '[redacted]')
    .replace(/k8s-aws-v1\.[A-Za-z0-9_-]+/g, '[redacted]')
    .replace(/ya29\.[A-Za-z0-9_.-]+/g, '[redacted]')
    .replace(/\{.*\}/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .slice(0, 400);
  return printable(bounded);
}
