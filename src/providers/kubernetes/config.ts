/**
 * What the kubernetes provider is pointed at: the Secret (`--secret [namespace/]name[#key]`) and the API
 * server with its credentials, resolved the way kubectl resolves them:
 *
 * 1. the kubeconfig files in KUBECONFIG (a colon-separated list, merged as kubectl merges them: the first
 *    file to name a cluster, user or context wins, the first `current-context` wins), else ~/.kube/config;
 * 2. when those hold no usable context and the process runs in a pod (KUBERNETES_SERVICE_HOST and
 *    KUBERNETES_SERVICE_PORT set), the pod's service account: token, ca.crt and namespace in
 *    /var/run/secrets/kubernetes.io/serviceaccount (CLAUDE_CREDS_KUBERNETES_SA_DIR overrides the directory).
 *
 * `--endpoint` replaces the server URL and `--ca-file` the CA of either. Everything is read from
 * `config.env` (the CLI's snapshot), never from process.env.
 */
import { join } from 'node:path';
import { ConfigError, describeCause } from '../../core/errors.js';
import type { ProviderConfig } from '../../core/provider.js';
import { parseServer, type Connection } from './connection.js';
import { loadKubeconfig } from './kubeconfig.js';

export const DEFAULT_KEY = 'credentials.json';
export const DEFAULT_SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const SA_DIR_VARIABLE = 'CLAUDE_CREDS_KUBERNETES_SA_DIR';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGER = 'claude-creds';

export interface SecretRef {
  /** undefined: the namespace of the kubeconfig context, or the pod's. */
  readonly namespace: string | undefined;
  readonly name: string;
  readonly key: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** `[namespace/]name[#key]`, checked against the API server's own naming rules. */
export function parseSecretRef(secret: string | undefined): SecretRef {
  const text = secret?.trim() ?? '';
  if (text === '') {
    throw new ConfigError('no Kubernetes Secret given: pass --secret [namespace/]name[#key], e.g. --secret claude/claude-credentials');
  }
  const hash = text.indexOf('#');
  const ref = hash === -1 ? text : text.slice(0, hash);
  const key = hash === -1 ? DEFAULT_KEY : text.slice(hash + 1);
  if (!SECRET_KEY.test(key) || key.length > 253 || key === '.' || key === '..') {
    throw new ConfigError(`--secret ${text}: "${key}" is not a Secret data key (letters, digits, "-", "_" and "." only, at most 253)`);
  }
  const parts = ref.split('/');
  if (parts.length > 2) {
    throw new ConfigError(`--secret ${text} is not [namespace/]name[#key]; e.g. claude/claude-credentials#credentials.json`);
  }
  const [first, second] = parts as [string, string | undefined];
  const namespace = second === undefined ? undefined : first;
  const name = second ?? first;
  if (namespace !== undefined && (!DNS_LABEL.test(namespace) || namespace.length > 63)) {
    throw new ConfigError(`--secret ${text}: "${namespace}" is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  }
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    throw new ConfigError(`--secret ${text}: "${name}" is not a Secret name (lower-case letters, digits, "-" and ".", at most 253)`);
  }
  return { namespace, name, key };
}

export interface ResolveDeps {
  readonly readTextFile: (path: string) => Promise<string>;
  readonly fileExists: (path: string) => Promise<boolean>;
}

/** How the connection will be found, from the environment alone (no file is read): for --dry-run and logs. */
export function describeConnectionSource(config: ProviderConfig): string {
  const kubeconfig = kubeconfigFiles(config.env);
  if (kubeconfig.explicit) return `kubeconfig ${kubeconfig.files.join(':')}`;
  if (inClusterAddress(config.env) !== undefined) return `~/.kube/config if present, else in-cluster service account`;
  return 'kubeconfig ~/.kube/config';
}

/** KUBECONFIG's files (empty entries dropped), else ~/.kube/config. */
function kubeconfigFiles(env: ProviderConfig['env']): { files: string[]; explicit: boolean } {
  const listed = (env.KUBECONFIG ?? '').split(':').filter((file) => file.trim() !== '');
  if (listed.length > 0) return { files: listed, explicit: true };
  const home = env.HOME?.trim();
  return { files: home ? [join(home, '.kube', 'config')] : [], explicit: false };
}

function inClusterAddress(env: ProviderConfig['env']): { host: string; port: string } | undefined {
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim();
  return host && port ? { host, port } : undefined;
}

/** Finds the server, its CA and the credentials, as kubectl would. Reads files; runs nothing. */
export async function resolveConnection(config: ProviderConfig, deps: ResolveDeps): Promise<Connection> {
  const { files, explicit } = kubeconfigFiles(config.env);
  const present: string[] = [];
  for (const file of files) if (await deps.fileExists(file)) present.push(file);
  const kubeconfig = present.length === 0 ? undefined : await loadKubeconfig(present, deps.readTextFile);
  const inCluster = inClusterAddress(config.env);

  let connection: Connection;
  if (kubeconfig?.usable) {
    connection = kubeconfig.connection;
  } else if (inCluster !== undefined) {
    connection = await inClusterConnection(inCluster, config.env[SA_DIR_VARIABLE]?.trim() || DEFAULT_SA_DIR, deps);
  } else if (kubeconfig !== undefined) {
    throw new ConfigError(kubeconfig.problem);
  } else {
    const where = files.length === 0 ? 'HOME is not set' : `${files.join(', ')} ${files.length === 1 ? 'does' : 'do'} not exist`;
    throw new ConfigError(
      `no Kubernetes API server to talk to: not in a pod (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset) and no kubeconfig (${explicit ? 'KUBECONFIG: ' : ''}${where}); run in a pod with a service account, or set KUBECONFIG`,
    );
  }
  return overridden(connection, config, deps);
}

async function inClusterConnection(address: { host: string; port: string }, dir: string, deps: ResolveDeps): Promise<Connection> {
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  let server: URL;
  try {
    server = new URL(`https://${host}:${address.port}`);
  } catch {
    throw new ConfigError(`KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT (${address.host}:${address.port}) do not form an address`);
  }
  const tokenPath = join(dir, 'token');
  if (!(await deps.fileExists(tokenPath))) {
    throw new ConfigError(
      `in a pod (KUBERNETES_SERVICE_HOST is set) but there is no service account token at ${tokenPath}; mount one (automountServiceAccountToken, or a projected serviceAccountToken volume at ${dir})`,
    );
  }
  const ca = await readOptional(join(dir, 'ca.crt'), deps);
  const namespace = (await readOptional(join(dir, 'namespace'), deps))?.trim() || 'default';
  return {
    server,
    ca,
    serverName: undefined,
    namespace,
    auth: { kind: 'token-file', path: tokenPath },
    clientCertificate: undefined,
    identity: `the pod's service account (token at ${tokenPath})`,
    origin: 'in-cluster',
  };
}

async function readOptional(path: string, deps: ResolveDeps): Promise<string | undefined> {
  if (!(await deps.fileExists(path))) return undefined;
  try {
    return await deps.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read ${path} (${describeCause(error)})`, { cause: error });
  }
}

/** `--endpoint` and `--ca-file` win over what the kubeconfig or the pod says. */
async function overridden(connection: Connection, config: ProviderConfig, deps: ResolveDeps): Promise<Connection> {
  let { server, ca } = connection;
  if (config.endpoint?.trim()) server = parseServer(config.endpoint.trim(), '--endpoint');
  if (config.caFile !== undefined) {
    try {
      ca = await deps.readTextFile(config.caFile);
    } catch (error) {
      throw new ConfigError(`cannot read --ca-file ${config.caFile} (${describeCause(error)})`, { cause: error });
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`--ca-file ${config.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  checkTransport(server);
  return { ...connection, server, ca };
}

/** Bearer tokens never cross a network in clear text: http is for `kubectl proxy` on loopback only. */
function checkTransport(server: URL): void {
  if (server.protocol === 'https:') return;
  const host = server.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return;
  throw new ConfigError(`the API server ${server.origin} is plain http on a network address; claude-creds sends credentials over https only (http is accepted on loopback, for kubectl proxy)`);
}
