import type { ProviderConfig, ProviderName } from '../../src/core/provider.js';
import type { FaultInjector } from './faults.js';
import type { VersionedStore } from './versioned-store.js';

/**
 * What every cloud fake returns once started on 127.0.0.1, so tests, the demo and the benchmark can
 * drive any of them the same way.
 */
export interface RunningFake {
  readonly provider: ProviderName;
  readonly store: VersionedStore;
  readonly faults: FaultInjector;
  /** The `--secret` value that names `secretName` in this fake (a name, an ARN, a resource path, a URL). */
  secretRef(secretName: string): string;
  /** The key under which `secretName` lives in `store`. */
  storeKey(secretName: string): string;
  /** ProviderConfig for an in-process provider talking to this fake. */
  providerConfig(secretName: string): ProviderConfig;
  /** Flags for a `claude-creds` process (provider, endpoint, region...), not including --secret. */
  readonly cliArgs: readonly string[];
  /** Environment for a `claude-creds` process (fake cloud credentials, CA trust...). */
  readonly cliEnv: Readonly<Record<string, string>>;
  close(): Promise<void>;
}
