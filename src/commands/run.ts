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
}

export async function runWrapped(settings: RunSettings, context: CommandContext): Promise<number> {
  let sync: RunningSync | undefined;
  let delivered: Awaited<ReturnType<typeof fetchCredentials>> | undefined;
  if (settings.sync !== undefined) {
    const { startSync } = await import('./sync.js');
    sync = await startSync(settings.sync, context);
  } else {
    delivered = await fetchCredentials(settings.fetch, context);
  }
  await seedOnboardingIfAsked(settings.onboarding, context);
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
    context.logger.info({ via: settings.tokenVia === 'env' ? 'CLAUDE_CODE_OAUTH_TOKEN' : 'CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR=3' }, 'handing the setup token to the command');
  }
  context.logger.info({ command: settings.command }, 'starting the command');
  const outcome = await runChild(settings.command, settings.args, {
    env: childEnv,
    extraFds,
    onSignal: (signal) => context.logger.info({ signal }, 'forwarding signal to the command'),
  });
  context.logger.info({ exitCode: outcome.exitCode, signal: outcome.signal }, 'the command ended');
  await sync?.stop();
  return outcome.exitCode;
}
