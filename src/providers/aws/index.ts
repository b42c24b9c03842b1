/**
 * AWS Secrets Manager. Reads the AWSCURRENT version; writes by compare-and-swap on the AWSCURRENT
 * staging label, since AWS has no conditional put:
 *
 *   1. DescribeSecret: AWSCURRENT must still be `expectedVersion`, else ConflictError at once.
 *   2. PutSecretValue labelled AWSPENDING only, so nothing reads it yet. Its ClientRequestToken (which
 *      AWS makes the VersionId) is derived from the expected version and the payload, so a retry of the
 *      same decision reuses the same version instead of adding another.
 *   3. UpdateSecretVersionStage moves AWSCURRENT to it with RemoveFromVersionId = expectedVersion; AWS
 *      refuses that atomically when another writer moved AWSCURRENT in the meantime -> ConflictError.
 *   4. Clear AWSPENDING from the new version.
 *
 * The SDK is loaded only when this provider is created and sits behind `SecretsManagerPort` (client.ts);
 * errors.ts maps what it throws, config.ts reads the secret, region and endpoint.
 */
import { createHash } from 'node:crypto';
import { ConfigError, ConflictError, DependencyError, NotFoundError, type ClaudeCredsError } from '../../core/errors.js';
import type { CallOptions, Provider, ProviderConfig, StoredPayload, WriteOutcome, WriteRequest } from '../../core/provider.js';
import { callSignal } from '../call-signal.js';
import { AWS_SDK_PACKAGE, createSdkPort, loadAwsSdk, type AwsClientSettings, type AwsSdk, type SecretsManagerPort } from './client.js';
import { NO_REGION_HELP, resolveAwsTarget } from './config.js';
import { classifyAwsError, errorCode, firstLine, type AwsOperation, type Intent } from './errors.js';

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';

export interface AwsProviderDeps {
  /** Loads the SDK module; injectable so a test can prove a failed load becomes a DependencyError. */
  readonly loadSdk?: () => Promise<AwsSdk>;
  /** Builds the port from the loaded SDK. */
  readonly createPort?: (sdk: AwsSdk, settings: AwsClientSettings) => SecretsManagerPort;
}

/**
 * The ClientRequestToken, which AWS makes the VersionId: UUID-shaped (AWS wants 32-64 characters) and
 * the same for the same decision (expected version + payload), so a retried write lands once. The
 * expected version is part of it so that writing A, then B, then A again makes three versions.
 */
export function versionIdFor(expectedVersion: string | undefined, payload: string): string {
  const hex = createHash('sha256').update(`claude-creds\0${expectedVersion ?? ''}\0${payload}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export async function createAwsProvider(config: ProviderConfig, deps: AwsProviderDeps = {}): Promise<Provider> {
  const { secret, arn, region: configuredRegion, endpoint } = resolveAwsTarget(config);

  let sdk: AwsSdk;
  try {
    sdk = await (deps.loadSdk ?? loadAwsSdk)();
  } catch (error) {
    throw new DependencyError(
      `could not load ${AWS_SDK_PACKAGE} (${firstLine(error)}); reinstall claude-creds or use an image that includes it`,
      { cause: error },
    );
  }
  const port = (deps.createPort ?? createSdkPort)(sdk, { region: configuredRegion, endpoint });
  let region: string;
  try {
    region = await port.region();
  } catch (error) {
    port.destroy();
    throw new ConfigError(NO_REGION_HELP, { cause: error });
  }

  const where = `AWS secret "${secret}" in ${region}`;
  const fail = (error: unknown, operation: AwsOperation, intent: Intent): ClaudeCredsError =>
    classifyAwsError(error, { operation, intent, secret, region });

  async function call<T>(operation: AwsOperation, intent: Intent, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw fail(error, operation, intent);
    }
  }

  async function currentVersion(signal: AbortSignal | undefined): Promise<{ current: string | undefined; pending: Set<string> }> {
    const described = await call('DescribeSecret', 'write', () => port.describeSecret({ SecretId: secret }, { signal }));
    let current: string | undefined;
    const pending = new Set<string>();
    for (const [id, stages] of Object.entries(described.VersionIdsToStages ?? {})) {
      if (stages.includes(CURRENT)) current = id;
      if (stages.includes(PENDING)) pending.add(id);
    }
    return { current, pending };
  }

  async function clearPending(versionId: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await port.updateSecretVersionStage({ SecretId: secret, VersionStage: PENDING, RemoveFromVersionId: versionId }, { signal });
    } catch (error) {
      // Someone else (another writer, a rotation) already moved AWSPENDING away: nothing left to clear.
      if (errorCode(error) === 'InvalidParameterException') return;
      throw fail(error, 'UpdateSecretVersionStage', 'write');
    }
  }

  async function create(payload: string, signal: AbortSignal | undefined): Promise<WriteOutcome> {
    if (arn !== undefined) {
      throw new NotFoundError(
        `${where} does not exist and cannot be created from an ARN; create it first, or pass its name with --secret`,
      );
    }
    const versionId = versionIdFor(undefined, payload);
    try {
      const created = await port.createSecret({ Name: secret, SecretString: payload, ClientRequestToken: versionId }, { signal });
      return { version: created.VersionId ?? versionId };
    } catch (error) {
      if (errorCode(error) !== 'ResourceExistsException') throw fail(error, 'CreateSecret', 'create');
    }
    // It exists now: either our own earlier attempt created it (its answer was lost) or another writer did.
    const { current } = await currentVersion(signal);
    if (current === versionId) return { version: versionId };
    throw new ConflictError(`${where} was created by another writer after it was read; re-read it and decide again`);
  }

  const provider = {
    name: 'aws',
    location: arn === undefined ? `secretsmanager:${region}:${secret}` : secret,
    writes: 'compare-and-swap',

    async read(options?: CallOptions): Promise<StoredPayload> {
      const signal = callSignal(options);
      const answer = await call('GetSecretValue', 'read', () =>
        port.getSecretValue({ SecretId: secret, VersionStage: CURRENT }, { signal }),
      );
      const payload = answer.SecretBinary ?? answer.SecretString;
      if (payload === undefined) {
        throw new NotFoundError(`${where} has no value in its AWSCURRENT version; push credentials to it first`);
      }
      return { payload, version: answer.VersionId };
    },

    async write(request: WriteRequest, options?: CallOptions): Promise<WriteOutcome> {
      const signal = callSignal(options);
      const { payload, expectedVersion } = request;
      if (expectedVersion === undefined) return create(payload, signal);

      const versionId = versionIdFor(expectedVersion, payload);
      const before = await currentVersion(signal);
      if (before.current === versionId) {
        // This very write already landed (a retry after a lost answer): finish its clean-up only.
        if (before.pending.has(versionId)) await clearPending(versionId, signal);
        return { version: versionId };
      }
      if (before.current !== expectedVersion) throw conflict(before.current, expectedVersion);

      let newVersion: string;
      try {
        const put = await port.putSecretValue(
          { SecretId: secret, SecretString: payload, ClientRequestToken: versionId, VersionStages: [PENDING] },
          { signal },
        );
        newVersion = put.VersionId ?? versionId;
      } catch (error) {
        // Same token with another value: the token is a hash of the value, so only a foreign version can hold it.
        if (errorCode(error) === 'ResourceExistsException') {
          throw new ConflictError(`${where} already has a version ${versionId} with other content; re-read it and decide again`);
        }
        throw fail(error, 'PutSecretValue', 'write');
      }

      try {
        await port.updateSecretVersionStage(
          { SecretId: secret, VersionStage: CURRENT, MoveToVersionId: newVersion, RemoveFromVersionId: expectedVersion },
          { signal },
        );
      } catch (error) {
        if (errorCode(error) !== 'InvalidParameterException') throw fail(error, 'UpdateSecretVersionStage', 'write');
        // AWSCURRENT is no longer on expectedVersion: another writer won. Leave our version unlabelled
        // (AWS treats that as deprecated) so nothing mistakes it for pending work.
        await clearPending(newVersion, signal).catch(() => undefined);
        throw conflict(undefined, expectedVersion);
      }
      await clearPending(newVersion, signal);
      return { version: newVersion };
    },

    requestsSent: () => port.requestsSent(),

    async close(): Promise<void> {
      port.destroy();
    },
  } satisfies Provider;

  function conflict(current: string | undefined, expected: string): ConflictError {
    const now = current === undefined ? 'another writer moved AWSCURRENT' : `AWSCURRENT is now ${current}`;
    return new ConflictError(`${where} changed since it was read (expected version ${expected}; ${now}); re-read it and decide again`);
  }

  return provider;
}
