/**
 * kubeconfig files and exec credential plugins for the Kubernetes API fake: what `kubectl config` and
 * `aws eks update-kubeconfig` write, pointed at the fake on 127.0.0.1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';

export type KubeconfigUser =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'token-file'; readonly path: string }
  | { readonly kind: 'client-certificate'; readonly cert: string; readonly key: string; readonly inline: boolean }
  | { readonly kind: 'exec'; readonly plugin: ExecPluginScript; readonly apiVersion?: string; readonly extra?: Record<string, unknown> }
  /** Written as given: for the shapes claude-creds refuses. */
  | { readonly kind: 'raw'; readonly user: Record<string, unknown> };

export interface KubeconfigSettings {
  readonly server: string;
  readonly caPem: string;
  /** The CA as a file beside the kubeconfig; referenced by a relative path unless embedCa. */
  readonly caFile: string;
  readonly user: KubeconfigUser;
  readonly namespace?: string;
  /** certificate-authority-data instead of a relative certificate-authority path; default true. */
  readonly embedCa?: boolean;
}

let counter = 0;

export async function writeKubeconfig(dir: string, settings: KubeconfigSettings): Promise<string> {
  counter += 1;
  const user = userEntry(dir, settings.user);
  const cluster = {
    server: settings.server,
    ...(settings.embedCa === false ? { 'certificate-authority': basename(settings.caFile) } : { 'certificate-authority-data': Buffer.from(settings.caPem).toString('base64') }),
  };
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: 'fake-cluster', cluster }],
    users: [{ name: 'fake-user', user }],
    contexts: [{ name: 'fake', context: { cluster: 'fake-cluster', user: 'fake-user', ...(settings.namespace === undefined ? {} : { namespace: settings.namespace }) } }],
    'current-context': 'fake',
  };
  const path = join(dir, `kubeconfig-${counter}.yaml`);
  writeFileSync(path, stringify(document), { mode: 0o600 });
  return path;
}

function userEntry(dir: string, user: KubeconfigUser): Record<string, unknown> {
  switch (user.kind) {
    case 'token':
      return { token: user.token };
    case 'token-file':
      return { tokenFile: user.path };
    case 'client-certificate': {
      if (user.inline) {
        return { 'client-certificate-data': Buffer.from(user.cert).toString('base64'), 'client-key-data': Buffer.from(user.key).toString('base64') };
      }
      const cert = join(dir, `client-${counter}.crt`);
      const key = join(dir, `client-${counter}.key`);
      writeFileSync(cert, user.cert);
      writeFileSync(key, user.key, { mode: 0o600 });
      // Relative to the kubeconfig's directory, as kubectl resolves them.
      return { 'client-certificate': basename(cert), 'client-key': basename(key) };
    }
    case 'exec':
      return {
        exec: {
          apiVersion: user.apiVersion ?? 'client.authentication.k8s.io/v1beta1',
          command: user.plugin.command,
          args: user.plugin.args,
          env: [{ name: 'FAKE_PLUGIN_MODE', value: 'kubeconfig-env' }],
          interactiveMode: 'IfAvailable',
          provideClusterInfo: true,
          ...user.extra,
        },
      };
    case 'raw':
      return user.user;
  }
}

export interface ExecPluginScript {
  readonly command: string;
  readonly args: readonly string[];
  /** How many times the plugin ran. */
  runs(): number;
  /** What it saw of its environment on the last run: KUBERNETES_EXEC_INFO and the kubeconfig's env. */
  lastRun(): { execInfo: unknown; pluginEnv: string | undefined } | undefined;
  /** The token it prints from now on. */
  setToken(token: string): void;
}

/**
 * A node script acting as an exec credential plugin: prints an ExecCredential with the token in
 * `<script>.token`, expiring after `expiresInMs` (none when undefined); exit 1 with a message when `fail`.
 */
export function writeExecPlugin(dir: string, options: { token: string; expiresInMs?: number; apiVersion?: string; fail?: string }): ExecPluginScript {
  counter += 1;
  const script = join(dir, `exec-plugin-${counter}.mjs`);
  const tokenFile = `${script}.token`;
  const runsFile = `${script}.runs`;
  writeFileSync(tokenFile, options.token);
  writeFileSync(runsFile, '');
  const apiVersion = options.apiVersion ?? 'client.authentication.k8s.io/v1beta1';
  writeFileSync(
    script,
    `import { appendFileSync, readFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(runsFile)}, JSON.stringify({ execInfo: JSON.parse(process.env.KUBERNETES_EXEC_INFO ?? 'null'), pluginEnv: process.env.FAKE_PLUGIN_MODE }) + '\\n');
${options.fail === undefined ? '' : `process.stderr.write(${JSON.stringify(options.fail)} + '\\n'); process.exit(1);`}
const status = { token: readFileSync(${JSON.stringify(tokenFile)}, 'utf8') };
${options.expiresInMs === undefined ? '' : `status.expirationTimestamp = new Date(Date.now() + ${options.expiresInMs}).toISOString();`}
process.stdout.write(JSON.stringify({ apiVersion: ${JSON.stringify(apiVersion)}, kind: 'ExecCredential', status }));
`,
  );
  const lines = () => readFileSync(runsFile, 'utf8').split('\n').filter((line) => line !== '');
  return {
    command: process.execPath,
    args: [script],
    runs: () => lines().length,
    lastRun: () => {
      const last = lines().at(-1);
      return last === undefined ? undefined : (JSON.parse(last) as { execInfo: unknown; pluginEnv: string | undefined });
    },
    setToken: (token) => writeFileSync(tokenFile, token),
  };
}
