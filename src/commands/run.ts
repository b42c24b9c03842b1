/**
 * run: deliver the credentials (a fetch, or a running sync), then run the worker command with the same
 * stdio, forwarding signals, and return its exit status. The variables that carried the secret are
 * removed from the command's environment; a setup token is handed over by descriptor, never by argv.
 */
import type { Environment } from '../core/config.js';
import type { CommandContext } from '../core/context.js';
import { runChild } from '../io/process-runner.js';
import { fetchCredentials, type FetchSettings } from './fetch.js';
import { seedOnboardingIfAsked, type OnboardingTarget } from './onboarding.js';
import type { RunningSync, SyncCommandSettings } from './sync.js';

export interface RunSettings {
  readonly command: string;
  readonly args: readonly string[];
  readonly fetch: FetchSettings;
  /** Set for `run --sync`: keep the file and the store in step beside the command. */
  readonly sync: SyncCommandSettings | undefined;
  readonly onboarding: OnboardingTarget | undefined;
  /** The environment the command inherits, before the secret-carrying variables are removed. */
  readonly env: Environment;
  /** Variables that may carry a secret or open the store: never passed on. */
  readonly secretVariables: readonly string[];
  /** kind oauth-token: by descriptor (the default) or by CLAUDE_CODE_OAUTH_TOKEN. */
  readonly tokenVia: 'fd' | 'env';
  /**
   * Log every step at info (a log level was asked for). Otherwise the wrapper is quiet around the
   * worker's own output, as `doppler run` and `op run` are: warnings, errors and one line.
   */
  readonly verbose: boolean;
}

export async function runWrapped(settings: RunSettings, context: CommandContext): Promise<number> {
  // The steps' own lines: at info when asked for, else only their warnings and errors.
  const steps = settings.verbose ? context : { ...context, logger: context.logger.child({}, { level: 'warn' }) };
  let sync: RunningSync | undefined;
  let delivered: Awaited<ReturnType<typeof fetchCredentials>> | undefined;
  if (settings.sync !== undefined) {
    const { startSync } = await import('./sync.js');
    sync = await startSync(settings.sync, steps);
  } else {
    delivered = await fetchCredentials(settings.fetch, steps);
  }
  await seedOnboardingIfAsked(settings.onboarding, steps);
  const childEnv: NodeJS.ProcessEnv = { ...settings.env };
  for (const name of settings.secretVariables) delete childEnv[name];
  const extraFds: number[] = [];
  if (typeof delivered === 'object' && delivered.kind === 'oauth-token') {
    // Whatever the environment held before must not override (or sit beside) the token handed over.
    delete childEnv.CLAUDE_CODE_OAUTH_TOKEN;
    delete childEnv.CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR;
    if (settings.tokenVia === 'env') {
      childEnv.CLAUDE_CODE_OAUTH_TOKEN = delivered.secret.token;
    } else {
      const { openTokenDescriptor } = await import('./kinds.js');
      extraFds.push(openTokenDescriptor(delivered.secret.token));
      childEnv.CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR = '3';
    }
    steps.logger.info({ via: settings.tokenVia === 'env' ? 'CLAUDE_CODE_OAUTH_TOKEN' : 'CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR=3' }, 'handing the setup token to the command');
  }
  // The one line of a quiet run; no fields, which pretty logs would print as more lines.
  context.logger.info(readyLine(settings, delivered));
  const outcome = await runChild(settings.command, settings.args, {
    env: childEnv,
    extraFds,
    onSignal: (signal) => steps.logger.info({ signal }, 'forwarding signal to the command'),
  });
  steps.logger.info({ exitCode: outcome.exitCode, signal: outcome.signal }, 'the command ended');
  await sync?.stop();
  return outcome.exitCode;
}

/** What is in place for the command, in a few words: where from, and where to. */
function readyLine(settings: RunSettings, delivered: Awaited<ReturnType<typeof fetchCredentials>> | undefined): string {
  const provider = `the ${settings.fetch.provider.config.name} provider`;
  const start = `; starting ${settings.command}`;
  if (settings.sync !== undefined) return `credentials in ${settings.fetch.out}, kept in step with ${provider}${start}`;
  if (typeof delivered === 'object') {
    if (delivered.kind === 'api-key') return `API key from ${provider}, apiKeyHelper set in ${delivered.settingsPath}${start}`;
    return `setup token from ${provider}, handed over by ${settings.tokenVia === 'env' ? 'CLAUDE_CODE_OAUTH_TOKEN' : 'file descriptor'}${start}`;
  }
  if (delivered === 'kept-newer-local') return `credentials in ${settings.fetch.out} (newer than ${provider}'s, kept)${start}`;
  if (delivered === 'kept-existing') return `credentials in ${settings.fetch.out} (kept: the store is unavailable)${start}`;
  return `credentials from ${provider} in ${settings.fetch.out}${start}`;
}
