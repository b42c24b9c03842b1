/**
 * The narrow port onto AWS Secrets Manager: the five calls the provider makes, over one SDK client that
 * is loaded only when this provider is chosen. The client sends each request once (our retry policy
 * governs), counts what it sends, and reads every answer with a bound.
 */
import { Readable } from 'node:stream';
import {
  AnswerTruncatedError,
  MAX_STORE_ANSWER_BYTES,
  RequestCounter,
  declaredLength,
  endsBeforeJsonDoes,
  readBounded,
} from '../answer-limit.js';

export const AWS_SDK_PACKAGE = '@aws-sdk/client-secrets-manager';

/** The part of the SDK module this provider uses. */
export type AwsSdk = Pick<
  typeof import('@aws-sdk/client-secrets-manager'),
  | 'SecretsManagerClient'
  | 'GetSecretValueCommand'
  | 'DescribeSecretCommand'
  | 'PutSecretValueCommand'
  | 'UpdateSecretVersionStageCommand'
  | 'CreateSecretCommand'
>;

export interface PortCall {
  readonly signal: AbortSignal | undefined;
}

/** The narrow port onto Secrets Manager: just the calls the provider makes. */
export interface SecretsManagerPort {
  getSecretValue(
    input: { SecretId: string; VersionStage: string },
    call: PortCall,
  ): Promise<{ SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined; VersionId?: string | undefined }>;
  describeSecret(
    input: { SecretId: string },
    call: PortCall,
  ): Promise<{ VersionIdsToStages?: Record<string, string[]> | undefined }>;
  putSecretValue(
    input: { SecretId: string; SecretString: string; ClientRequestToken: string; VersionStages: string[] },
    call: PortCall,
  ): Promise<{ VersionId?: string | undefined }>;
  updateSecretVersionStage(
    input: { SecretId: string; VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string },
    call: PortCall,
  ): Promise<void>;
  createSecret(
    input: { Name: string; SecretString: string; ClientRequestToken: string },
    call: PortCall,
  ): Promise<{ VersionId?: string | undefined }>;
  /** The region the client resolved (flag, AWS_REGION, profile...). */
  region(): Promise<string>;
  /** HTTP requests sent to Secrets Manager so far. */
  requestsSent(): number;
  destroy(): void;
}

export interface AwsClientSettings {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
}

export const loadAwsSdk = async (): Promise<AwsSdk> => import('@aws-sdk/client-secrets-manager');

/** The real port: one SDK client, no SDK retries, credentials from the SDK's default chain only. */
export function createSdkPort(sdk: AwsSdk, settings: AwsClientSettings): SecretsManagerPort {
  const client = new sdk.SecretsManagerClient({
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    // Our retry policy governs; the SDK's own would multiply attempts and hide the deadline.
    maxAttempts: 1,
    // Without throwOnRequestTimeout the handler only logs a warning when the timeout passes.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  });
  const sent = new RequestCounter();
  // Between the deserializer and the HTTP handler, so it sees every request the client sends and every
  // raw answer before the SDK collects it: the SDK would read any body whole, whatever its size.
  client.middlewareStack.add(
    (next) => async (args) => {
      sent.add();
      const result = await next(args);
      const response = result.response as { headers?: Record<string, string>; body?: unknown };
      if (response.body instanceof Readable) {
        const declared = declaredLength(response.headers?.['content-length']);
        const body = await readBounded(response.body, MAX_STORE_ANSWER_BYTES, declared);
        // A body without a Content-Length ends when the connection does, cut off or not.
        if (declared === undefined && /json/i.test(response.headers?.['content-type'] ?? '') && endsBeforeJsonDoes(body.toString('utf8'))) {
          throw new AnswerTruncatedError(`the answer ended after ${body.length} bytes, in the middle of its JSON`);
        }
        response.body = Readable.from([body]);
      }
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'claudeCredsBoundedAnswer' },
  );
  const opts = (call: PortCall) => (call.signal === undefined ? {} : { abortSignal: call.signal });
  return {
    getSecretValue: (input, call) => client.send(new sdk.GetSecretValueCommand(input), opts(call)),
    describeSecret: (input, call) => client.send(new sdk.DescribeSecretCommand(input), opts(call)),
    putSecretValue: (input, call) => client.send(new sdk.PutSecretValueCommand(input), opts(call)),
    updateSecretVersionStage: async (input, call) => {
      await client.send(new sdk.UpdateSecretVersionStageCommand(input), opts(call));
    },
    createSecret: (input, call) => client.send(new sdk.CreateSecretCommand(input), opts(call)),
    region: () => client.config.region(),
    requestsSent: () => sent.value,
    destroy: () => client.destroy(),
  };
}
