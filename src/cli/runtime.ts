/**
 * What every CLI command module gets from the entrypoint: the environment as it was given (the wrapped
 * command inherits this, not our own adjustments), the home directory, and the task runner that turns a
 * command's result or error into the exit code. The CLI is the only layer that reads argv and the
 * environment; everything below it receives plain settings.
 */
import type { Environment } from '../core/config.js';

export interface CliRuntime {
  /** A snapshot of the environment claude-creds was started with. */
  readonly env: Environment;
  readonly homedir: string;
  /** Runs one command's task; its number is the exit code, its error is reported by the one catch. */
  readonly run: (task: () => Promise<number>) => Promise<void>;
}

/**
 * Takes the environment snapshot, then adjusts our own process's environment for the SDKs we load: those
 * adjustments are for claude-creds only and never reach the wrapped command.
 */
export function captureEnvironment(): Environment {
  const snapshot: Record<string, string | undefined> = { ...process.env };
  // The AWS SDK prints a multi-line Node-version notice to stderr on Node 20; our stderr is for our log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The Google SDK's request logging prints payloads, i.e. tokens, to stderr: never in this process.
  delete process.env.GOOGLE_SDK_NODE_LOGGING;
  return snapshot;
}
