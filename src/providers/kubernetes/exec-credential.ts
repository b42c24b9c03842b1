/**
 * kubeconfig exec credential plugins (client.authentication.k8s.io v1 / v1beta1), run the way kubectl runs
 * them: the command with its args, our environment plus the plugin's `env`, KUBERNETES_EXEC_INFO describing
 * the request (never interactive), an ExecCredential read from stdout. The credential is kept until its
 * expirationTimestamp (or until the API server answers 401), then the plugin runs again.
 *
 * Why support them at all: `push` from an operator's machine to EKS or GKE goes through exactly these
 * (`aws eks get-token`, `gke-gcloud-auth-plugin`); refusing them would send those users back to
 * `kubectl apply`. The command is the kubeconfig owner's own, as it is for kubectl.
 */
import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, PermissionDeniedError, StoreUnavailableError, describeCause } from '../../core/errors.js';
import type { ExecPlugin } from './connection.js';
import { scrub } from './errors.js';

export interface ExecCredential {
  readonly token: string | undefined;
  readonly clientCertificate: { readonly cert: string; readonly key: string } | undefined;
  /** Epoch ms; undefined = valid until the server refuses it. */
  readonly expiresAt: number | undefined;
}

const MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;

export type ExecRunner = (plugin: ExecPlugin, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal | undefined) => Promise<ExecCredential>;

/** Runs the plugin once and returns its credential. Never puts the credential in a message. */
export const runExecPlugin: ExecRunner = (plugin, env, signal) => {
  const command = plugin.command.includes('/') && !isAbsolute(plugin.command) ? resolve(plugin.baseDir, plugin.command) : plugin.command;
  const info = { apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive: false, ...(plugin.cluster === undefined ? {} : { cluster: plugin.cluster }) } };
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) childEnv[name] = value;
  Object.assign(childEnv, plugin.env, { KUBERNETES_EXEC_INFO: JSON.stringify(info) });
  const what = `the kubeconfig's exec credential plugin "${plugin.command}"`;

  return new Promise<ExecCredential>((resolvePromise, reject) => {
    const timeout = AbortSignal.timeout(DEFAULT_TIMEOUT_MS);
    const child = spawn(command, [...plugin.args], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString('utf8');
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(new ConfigError(`${what} was not found on PATH${plugin.installHint ? ` (${firstLine(plugin.installHint)})` : ''}; install it or use a kubeconfig with a token`));
      } else if (error.name === 'AbortError') {
        reject(new StoreUnavailableError(`${what} did not answer in time`, { cause: error }));
      } else {
        reject(new ConfigError(`${what} could not be started (${describeCause(error)})`, { cause: error }));
      }
    });
    child.on('close', (code) => {
      if (outBytes > MAX_OUTPUT_BYTES) return reject(new ConfigError(`${what} printed more than ${MAX_OUTPUT_BYTES} bytes; that is not an ExecCredential`));
      if (code !== 0) {
        const said = firstLine(scrub(err, []));
        return reject(new PermissionDeniedError(`${what} failed (exit ${String(code)}${said === '' ? '' : `: ${said}`}); run it yourself to see why (expired SSO login, missing cloud credentials)`));
      }
      try {
        resolvePromise(parseExecCredential(Buffer.concat(out).toString('utf8'), plugin.apiVersion, what));
      } catch (error) {
        reject(error);
      }
    });
  });
};

export function parseExecCredential(output: string, apiVersion: string, what: string): ExecCredential {
  let document: unknown;
  try {
    document = JSON.parse(output);
  } catch {
    throw new ConfigError(`${what} did not print an ExecCredential (not JSON)`);
  }
  const record = document as { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> } | null;
  if (record?.kind !== 'ExecCredential' || typeof record.status !== 'object' || record.status === null) {
    throw new ConfigError(`${what} did not print an ExecCredential with a status`);
  }
  if (record.apiVersion !== apiVersion) throw new ConfigError(`${what} answered ${String(record.apiVersion)}, not the ${apiVersion} the kubeconfig asks for`);
  const { token, clientCertificateData: cert, clientKeyData: key, expirationTimestamp } = record.status;
  const hasToken = typeof token === 'string' && token !== '';
  const hasCert = typeof cert === 'string' && cert !== '' && typeof key === 'string' && key !== '';
  if (!hasToken && !hasCert) throw new ConfigError(`${what} printed an ExecCredential with neither a token nor a client certificate and key`);
  let expiresAt: number | undefined;
  if (typeof expirationTimestamp === 'string') {
    expiresAt = Date.parse(expirationTimestamp);
    if (Number.isNaN(expiresAt)) throw new ConfigError(`${what} printed an ExecCredential whose expirationTimestamp is not a time`);
  }
  return {
    token: hasToken ? token : undefined,
    clientCertificate: hasCert ? { cert: cert as string, key: key as string } : undefined,
    expiresAt,
  };
}

function firstLine(textValue: string): string {
  return (textValue.split('\n').find((line) => line.trim() !== '') ?? '').trim().slice(0, 200);
}
