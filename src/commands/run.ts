/**
 * run: deliver the credentials (a fetch, or a running sync), then run the worker command with the same
 * stdio, forwarding signals, and return its exit status. The variables that carried the secret or open
 * the store are removed from the command's environment; a setup token is handed over by descriptor,
 * never by argv.
 *
 * The plain wrapper hands over with execve where the runtime can (Node >= 22.15): claude-creds becomes
 * the command, so no process holding the secret in its memory or in its initial environment (readable
 * at /proc/<pid>/environ for its whole life) stays beside the worker. Where it cannot, or when something
 * must stay (run --sync; a token passed by descriptor), claude-creds stays as the parent: then only
 * `--user` (the command as another uid, which cannot read root's /proc entries) keeps the worker out.
 */
import type { Environment, Owner } from '../core/config.js';
import type { CommandContext } from '../core/context.js';
import { canReplaceProcess, replaceProcess, runChild } from '../io/process-runner.js';
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
  /** `--user`: run the command as this uid/gid with no supplementary groups (claude-creds runs as root). */
  readonly user?: Owner | undefined;
}

export async function runWrapped(settings: RunSettings, context: CommandContext): Promise<number> {
  // The steps' own lines: at info when asked for, else only their warnings and errors.
  const steps = settings.verbose ? context : { ...context, logger: context.logger.child({}, { level: 'warn' }) };
  const { logger } = steps;
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
  const withheld = settings.secretVariables.filter((name) => childEnv[name] !== undefined);
  for (const name of settings.secretVariables) delete childEnv[name];
  if (withheld.length > 0) logger.info({ withheld }, 'variables that carry the secret or open the store are withheld from the command');
  const extraFds: number[] = [];
  if (typeof delivered === 'object' && delivered.kind === 'oauth-token') {
    // Whatever the environment held before must not override (or sit beside) the token handed over.
    delete childEnv.CLAUDE_CODE_OAUTH_TOKEN;
    delete childEnv.CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR;
    if (settings.tokenVia === 'env') {
      childEnv.CLAUDE_CODE_OAUTH_TOKEN = delivered.secret.token;
    } else {
      const { openTokenDescriptor } = await import('./kinds.js');
      extraFds.push(openTokenDescriptor(delivered.secret.token, settings.user));
      childEnv.CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR = '3';
    }
    logger.info({ via: settings.tokenVia === 'env' ? 'CLAUDE_CODE_OAUTH_TOKEN' : 'CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR=3' }, 'handing the setup token to the command');
  }
  const user = settings.user === undefined ? {} : { user: `${settings.user.uid}:${settings.user.gid}` };
  const stay = reasonToStay(sync !== undefined, extraFds.length > 0, settings.user !== undefined);
  // The one line of a quiet run; no fields, which pretty logs would print as more lines.
  context.logger.info(readyLine(settings, delivered));
  if (stay === undefined) {
    logger.debug({ command: settings.command, ...user, handOver: 'execve' }, 'starting the command in place of claude-creds');
    // Returns only when the command is no program execve can start (a script without #!).
    replaceProcess(settings.command, settings.args, { env: childEnv, user: settings.user });
    logger.debug('the command is not a native program or a #! script: starting it as a child instead');
  } else {
    logger.debug({ reason: stay }, 'claude-creds stays as the command\'s parent');
  }
  logger.info({ command: settings.command, ...user }, 'starting the command');
  const outcome = await runChild(settings.command, settings.args, {
    env: childEnv,
    extraFds,
    user: settings.user,
    onSignal: (signal) => logger.info({ signal }, 'forwarding signal to the command'),
  });
  logger.info({ exitCode: outcome.exitCode, signal: outcome.signal }, 'the command ended');
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

/** Why claude-creds cannot hand its process over to the command, or undefined when it can. */
function reasonToStay(syncing: boolean, passesDescriptor: boolean, asOtherUser: boolean): string | undefined {
  if (syncing) return 'run --sync keeps syncing beside the command';
  if (passesDescriptor) return 'the setup token goes by descriptor 3, which execve cannot place (Node has no dup2)';
  if (!canReplaceProcess()) {
    const hint = asOtherUser
      ? 'the command runs as --user, which cannot read it'
      : 'the command, as the same user, can read its /proc/<pid>/environ: use --user, Node >= 22.15, or a provider other than env';
    return `Node ${process.versions.node} has no process.execve (Node >= 22.15 has): claude-creds, which read the secret, stays as the command's parent; ${hint}`;
  }
  return undefined;
}
