/**
 * kubeconfig files, read as kubectl reads them: several files merged (the first to name a cluster, user or
 * context wins; the first `current-context` wins), paths relative to the file that holds them, the current
 * context's cluster, user and namespace.
 *
 * Supported users: `token`, `tokenFile` (read again for every call), `client-certificate(-data)` with
 * `client-key(-data)`, and `exec` credential plugins (EKS `aws eks get-token`, GKE `gke-gcloud-auth-plugin`,
 * `kubelogin`), run non-interactively as kubectl would run them. Refused with a message: the removed
 * `auth-provider` plugins, basic auth, `insecure-skip-tls-verify` (a bearer token would go to whoever answers)
 * and `proxy-url`.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, describeCause } from '../../core/errors.js';
import { parseServer, type AuthSource, type Connection, type ExecPlugin } from './connection.js';

type Json = Record<string, unknown>;

export type LoadedKubeconfig =
  | { readonly usable: true; readonly connection: Connection }
  /** No current context: kubectl would fall back to in-cluster config, or fail with `problem`. */
  | { readonly usable: false; readonly problem: string };

interface Entry {
  readonly value: Json;
  /** The file that named it, for relative paths and messages. */
  readonly file: string;
}

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

export async function loadKubeconfig(files: readonly string[], readText: (path: string) => Promise<string>): Promise<LoadedKubeconfig> {
  // Loaded only on this path: in a pod, the in-cluster config needs no YAML parser.
  const { parse } = await import('yaml');
  const clusters = new Map<string, Entry>();
  const users = new Map<string, Entry>();
  const contexts = new Map<string, Entry>();
  let current: { name: string; file: string } | undefined;

  for (const file of files) {
    let document: unknown;
    try {
      document = parse(await readText(file));
    } catch (error) {
      throw new ConfigError(`cannot read the kubeconfig ${file} (${describeCause(error).slice(0, 200)})`, { cause: error });
    }
    if (document === null || document === undefined) continue; // an empty file, as kubectl allows
    if (!isRecord(document)) throw new ConfigError(`the kubeconfig ${file} is not a kubeconfig (expected a mapping with clusters, users and contexts)`);
    const collect = (list: unknown, into: Map<string, Entry>, field: string) => {
      for (const item of Array.isArray(list) ? list : []) {
        const name = isRecord(item) ? text(item.name) : undefined;
        if (name === undefined || into.has(name)) continue;
        into.set(name, { value: isRecord(item) && isRecord(item[field]) ? item[field] : {}, file });
      }
    };
    collect(document.clusters, clusters, 'cluster');
    collect(document.users, users, 'user');
    collect(document.contexts, contexts, 'context');
    const named = text(document['current-context']);
    if (current === undefined && named !== undefined) current = { name: named, file };
  }

  const list = files.join(':');
  if (current === undefined) {
    return { usable: false, problem: `the kubeconfig ${list} has no current-context; choose one with kubectl config use-context NAME` };
  }
  const context = contexts.get(current.name);
  if (context === undefined) throw new ConfigError(`the kubeconfig ${list}: current-context "${current.name}" is not among its contexts`);
  const clusterName = text(context.value.cluster);
  const userName = text(context.value.user);
  const cluster = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (cluster === undefined) throw new ConfigError(`the kubeconfig ${list}: context "${current.name}" names cluster "${clusterName ?? ''}", which it does not define`);
  const user = userName === undefined ? undefined : users.get(userName);
  if (userName !== undefined && user === undefined) throw new ConfigError(`the kubeconfig ${list}: context "${current.name}" names user "${userName}", which it does not define`);

  const where = `kubeconfig ${list}, context "${current.name}"`;
  const c = cluster.value;
  const serverText = text(c.server);
  if (serverText === undefined) throw new ConfigError(`${where}: cluster "${clusterName}" has no server`);
  if (c['insecure-skip-tls-verify'] === true) {
    throw new ConfigError(
      `${where}: cluster "${clusterName}" sets insecure-skip-tls-verify; claude-creds never sends credentials to an unverified server: give its CA (certificate-authority-data, or --ca-file)`,
    );
  }
  if (text(c['proxy-url']) !== undefined) throw new ConfigError(`${where}: cluster "${clusterName}" sets proxy-url, which claude-creds does not support; reach the API server directly`);

  const resolvePath = (path: string, entry: Entry) => (isAbsolute(path) ? path : resolve(dirname(entry.file), path));
  const pem = async (entry: Entry, dataField: string, fileField: string): Promise<string | undefined> => {
    const data = text(entry.value[dataField]);
    if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
    const path = text(entry.value[fileField]);
    if (path === undefined) return undefined;
    try {
      return await readText(resolvePath(path, entry));
    } catch (error) {
      throw new ConfigError(`${where}: cannot read ${fileField} ${resolvePath(path, entry)} (${describeCause(error)})`, { cause: error });
    }
  };

  const ca = await pem(cluster, 'certificate-authority-data', 'certificate-authority');
  const namespace = text(context.value.namespace)?.trim() ?? 'default';
  const u = user?.value ?? {};
  const cert = user === undefined ? undefined : await pem(user, 'client-certificate-data', 'client-certificate');
  const key = user === undefined ? undefined : await pem(user, 'client-key-data', 'client-key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(`${where}: user "${userName}" has a client ${cert === undefined ? 'key' : 'certificate'} without its ${cert === undefined ? 'certificate' : 'key'}`);
  }
  const auth = userAuth(u, user, where, userName ?? '', clusterName ?? '', serverText, ca);

  return {
    usable: true,
    connection: {
      server: parseServer(serverText, `${where}: cluster "${clusterName}" server`),
      ca,
      serverName: text(c['tls-server-name']),
      namespace,
      auth: auth.kind === 'token-file' ? { ...auth, path: resolvePath(auth.path, user as Entry) } : auth,
      clientCertificate: cert === undefined || key === undefined ? undefined : { cert, key },
      identity: userName === undefined ? `the anonymous user of ${where}` : `user "${userName}" of ${where}`,
      origin: where,
    },
  };
}

function userAuth(u: Json, user: Entry | undefined, where: string, userName: string, clusterName: string, server: string, ca: string | undefined): AuthSource {
  if (isRecord(u['auth-provider'])) {
    const name = text(u['auth-provider'].name) ?? 'unknown';
    throw new ConfigError(
      `${where}: user "${userName}" uses the auth-provider "${name}", removed from kubectl; switch to its exec plugin (gke-gcloud-auth-plugin, kubelogin, aws eks get-token)`,
    );
  }
  if (text(u.username) !== undefined || text(u.password) !== undefined) {
    throw new ConfigError(`${where}: user "${userName}" uses basic auth (username/password), which Kubernetes no longer accepts; use a token or client certificate`);
  }
  const tokenFile = text(u.tokenFile);
  if (tokenFile !== undefined) return { kind: 'token-file', path: tokenFile };
  const token = text(u.token);
  if (token !== undefined) return { kind: 'token', token: token.trim() };
  if (isRecord(u.exec) && user !== undefined) return { kind: 'exec', plugin: execPlugin(u.exec, user, where, userName, clusterName, server, ca) };
  return { kind: 'none' };
}

function execPlugin(exec: Json, user: Entry, where: string, userName: string, clusterName: string, server: string, ca: string | undefined): ExecPlugin {
  const command = text(exec.command);
  if (command === undefined) throw new ConfigError(`${where}: user "${userName}" has an exec plugin without a command`);
  const apiVersion = text(exec.apiVersion) ?? 'client.authentication.k8s.io/v1beta1';
  if (!/^client\.authentication\.k8s\.io\/(v1|v1beta1)$/.test(apiVersion)) {
    throw new ConfigError(`${where}: user "${userName}"'s exec plugin speaks ${apiVersion}; claude-creds speaks client.authentication.k8s.io/v1 and v1beta1`);
  }
  if (exec.interactiveMode === 'Always') {
    throw new ConfigError(`${where}: user "${userName}"'s exec plugin (${command}) needs an interactive terminal (interactiveMode: Always); claude-creds runs plugins non-interactively`);
  }
  const env: Record<string, string> = {};
  for (const item of Array.isArray(exec.env) ? exec.env : []) {
    if (isRecord(item) && text(item.name) !== undefined) env[item.name as string] = typeof item.value === 'string' ? item.value : '';
  }
  const cluster =
    exec.provideClusterInfo === true
      ? { server, 'certificate-authority-data': ca === undefined ? undefined : Buffer.from(ca).toString('base64'), config: undefined, name: clusterName }
      : undefined;
  return {
    command,
    args: Array.isArray(exec.args) ? exec.args.map(String) : [],
    env,
    apiVersion,
    installHint: text(exec.installHint),
    baseDir: dirname(user.file),
    cluster,
  };
}
