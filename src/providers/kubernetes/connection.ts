/** The resolved API server connection, shared by the config resolution and the HTTP client. */
import { ConfigError } from '../../core/errors.js';

/** An exec credential plugin from a kubeconfig user (`aws eks get-token`, `gke-gcloud-auth-plugin`). */
export interface ExecPlugin {
  /** As written in the kubeconfig; a relative path with a "/" is taken from the kubeconfig's directory. */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** client.authentication.k8s.io/v1 or v1beta1: the ExecCredential version to speak. */
  readonly apiVersion: string;
  readonly installHint: string | undefined;
  /** Directory of the kubeconfig file that named it. */
  readonly baseDir: string;
  /** With provideClusterInfo, the cluster handed to the plugin in KUBERNETES_EXEC_INFO. */
  readonly cluster: Readonly<Record<string, unknown>> | undefined;
}

/** How a call proves who it is: a bearer token from one of these sources (client certificates ride beside it). */
export type AuthSource =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  /** Read again for every call: projected service account tokens rotate under a running process. */
  | { readonly kind: 'token-file'; readonly path: string }
  | { readonly kind: 'exec'; readonly plugin: ExecPlugin };

/** Everything a call to the API server needs, once resolved. */
export interface Connection {
  readonly server: URL;
  /** PEM to trust instead of the system roots; undefined = the system roots. */
  readonly ca: string | undefined;
  /** `tls-server-name`: the name to check the certificate against when it is not the server's host. */
  readonly serverName: string | undefined;
  /** The namespace a `--secret` without one lives in. */
  readonly namespace: string;
  readonly auth: AuthSource;
  /** A TLS client certificate and key (PEM), from the kubeconfig user. */
  readonly clientCertificate: { readonly cert: string; readonly key: string } | undefined;
  /** Which identity, for messages: `the pod's service account (...)`, `kubeconfig user "admin"`. */
  readonly identity: string;
  /** Where it came from, for messages: `in-cluster`, `kubeconfig /home/me/.kube/config, context "kind"`. */
  readonly origin: string;
}

/** A server URL: https (or http, checked later to be loopback), without credentials, query or fragment. */
export function parseServer(text: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${source} ${text} is not a URL; give one such as https://10.0.0.1:6443`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${source} must be an https:// URL, not ${url.protocol}//...`);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/\/+$/, '') || '/';
  return url;
}
