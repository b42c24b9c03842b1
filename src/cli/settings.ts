/**
 * Turns parsed flag values into the settings of the commands below the CLI: the provider choice, the
 * local file, the sync and refresh settings. Everything that depends on argv or the environment is
 * resolved here, so the commands receive plain values.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import type { FetchSettings } from '../commands/fetch.js';
import type { OnboardingTarget } from '../commands/onboarding.js';
import type { SyncCommandSettings } from '../commands/sync.js';
import { chooseProvider, defaultCredentialsPath, onboardingPath, parseOwner } from '../core/config.js';
import { parseKindOption } from '../core/credential-kind.js';
import { DURATION_BOUNDS, parseBoundedDuration, parseBoundedDurationList, parseRequiredDuration, refreshBeforeBound } from '../core/duration-bounds.js';
import { formatDuration } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import { defaultJitterMs, refreshTimingProblem } from '../core/refresh-plan.js';
import packageJson from '../../package.json' with { type: 'json' };
import type { KindFlagValues } from './options/kind-options.js';
import type { LocalFileFlagValues } from './options/local-file-options.js';
import type { StoreFlagValues } from './options/provider-options.js';
import type { SyncFlagValues } from './options/sync-options.js';
import type { CliRuntime } from './runtime.js';

export type FetchFlagValues = StoreFlagValues & LocalFileFlagValues & KindFlagValues;

export function fetchSettingsFrom(options: FetchFlagValues, runtime: CliRuntime): FetchSettings {
  return {
    provider: chooseProvider(options, runtime.env),
    out: options.out ?? defaultCredentialsPath(runtime.env, runtime.homedir),
    owner: options.owner === undefined ? undefined : parseOwner(options.owner),
    force: options.force === true,
    keepExisting: options.keepExisting === true,
    kind: parseKindOption(options.kind),
    apiKeyHelper: { command: options.helperCommand === '' ? undefined : options.helperCommand, invocation: selfInvocation() },
  };
}

export async function syncSettingsFrom(options: FetchFlagValues & SyncFlagValues, runtime: CliRuntime): Promise<SyncCommandSettings> {
  const base = fetchSettingsFrom(options, runtime);
  if (base.provider.config.name === 'env') {
    throw new UsageError(
      'sidecar and run --sync write refreshed logins back to the store, and the env provider is read-only: use a store (file, aws, gcp, azure, vault, kubernetes), or plain `claude-creds -- COMMAND` without sync',
    );
  }
  const refreshBeforeMs = options.refreshBefore === undefined ? undefined : parseRequiredDuration(options.refreshBefore, refreshBeforeBound());
  if (options.workerCopy === 'access-only' && refreshBeforeMs === undefined) {
    throw new UsageError('--worker-copy access-only needs --refresh-before: a worker without a refresh token relies on the sidecar to refresh');
  }
  const pullIntervalMs = parseBoundedDuration(options.pullInterval, DURATION_BOUNDS.pullInterval);
  if (pullIntervalMs === undefined && refreshBeforeMs !== undefined) {
    throw new UsageError('--pull-interval off cannot go with --refresh-before: the sidecars learn of each other\'s refresh by pulling');
  }
  let refresh: SyncCommandSettings['refresh'];
  if (refreshBeforeMs !== undefined) {
    const { DEFAULT_OAUTH_SETTINGS, refreshOAuthTokens } = await import('../oauth/refresh-client.js');
    const oauth = {
      ...DEFAULT_OAUTH_SETTINGS,
      ...(options.oauthTokenUrl ? { tokenUrl: options.oauthTokenUrl } : {}),
      ...(options.oauthClientId ? { clientId: options.oauthClientId } : {}),
      userAgent: `claude-creds/${packageJson.version}`,
    };
    const timing = {
      beforeMs: refreshBeforeMs,
      jitterMs: options.refreshJitter === undefined ? defaultJitterMs(refreshBeforeMs) : parseRequiredDuration(options.refreshJitter, DURATION_BOUNDS.refreshJitter),
    };
    const problem = refreshTimingProblem(timing);
    if (problem !== undefined) throw new UsageError(problem);
    refresh = {
      ...timing,
      leaseMs: 60_000,
      oauth,
      refresh: (token, call) => refreshOAuthTokens(token, oauth, { now: Date.now, ...call }),
    };
  }
  const port = options.healthPort === undefined ? undefined : Number(options.healthPort);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new UsageError(`--health-port takes a port number, not "${options.healthPort}"`);
  }
  return {
    ...base,
    // 0 is how the engine spells off; the flags spell it `off`.
    pullIntervalMs: pullIntervalMs ?? 0,
    pollIntervalMs: parseBoundedDuration(options.pollInterval, DURATION_BOUNDS.pollInterval) ?? 0,
    debounceMs: 150,
    accessOnly: options.workerCopy === 'access-only',
    warnBeforeMs: parseBoundedDurationList(options.warnBefore, DURATION_BOUNDS.warnBefore),
    loginWarnBeforeMs: parseBoundedDurationList(options.loginWarnBefore, { ...DURATION_BOUNDS.warnBefore, flag: '--login-warn-before' }),
    refresh,
    holderId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    health: port === undefined ? undefined : { host: options.healthHost, port, statusDetails: options.healthStatusDetails === true },
    flushTimeoutMs: parseRequiredDuration(options.flushTimeout, DURATION_BOUNDS.flushTimeout),
  };
}

/** `--seed-onboarding`: where `.claude.json` goes and who owns it; undefined when not asked. */
export function onboardingFrom(options: LocalFileFlagValues, runtime: CliRuntime): OnboardingTarget | undefined {
  if (!options.seedOnboarding) return undefined;
  return { path: onboardingPath(runtime.env, runtime.homedir), owner: options.owner === undefined ? undefined : parseOwner(options.owner) };
}

/**
 * How to run this claude-creds again, for the `apiKeyHelper` command line: node, its own flags (the dev
 * entry needs `--import tsx`), and the absolute path of the entry script. Names and paths only.
 */
export function selfInvocation(): string[] {
  const entry = process.argv[1];
  return entry === undefined ? ['claude-creds'] : [process.execPath, ...process.execArgv, resolvePath(entry)];
}
