/**
 * The claude-creds command line. The only module that reads argv and the environment: it builds the
 * settings for each command, runs it, and maps every typed error to one line on stderr and an exit code.
 */
import { randomBytes } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { fetchCredentials } from './commands/fetch.js';
import type { CommandContext } from './core/context.js';
import { readLocalCredentials } from './io/local-credentials.js';
import { pushCredentials } from './commands/push.js';
import { STATUS_EXIT, buildStatusReport, formatStatusText } from './commands/status.js';
import type { SyncCommandSettings } from './commands/sync.js';
import {
  chooseProvider,
  defaultCredentialsPath,
  onboardingPath,
  parseOwner,
  secretVariables,
  type Owner,
  type ProviderChoice,
  type ProviderOptions,
} from './core/config.js';
import { formatDuration, parseDuration } from './core/duration.js';
import { EXIT, UsageError, describeCause, isClaudeCredsError } from './core/errors.js';
import { LOG_LEVELS, createLogger, type LogLevel } from './io/logger.js';
import { runChild } from './io/process-runner.js';
import { createProvider } from './providers/registry.js';
import { DEFAULT_RETRY_POLICY } from './core/retry.js';
import { resolve as resolvePath } from 'node:path';
import {
  API_KEY_CACHE_NAME,
  CREDENTIAL_KINDS,
  DEFAULT_API_KEY_CACHE_TTL_MS,
  DEFAULT_RECALL_WINDOW_MS,
  parseKindOption,
  recallWindowFor,
} from './core/credential-kind.js';

interface CommonOptions extends ProviderOptions {
  readonly out?: string;
  readonly owner?: string;
  readonly timeout: string;
  readonly force?: boolean;
  readonly keepExisting?: boolean;
  readonly logLevel: string;
  readonly logFormat?: string;
  readonly seedOnboarding?: boolean;
  readonly dryRun?: boolean;
  readonly kind?: string;
  readonly helperCommand?: string;
  readonly tokenVia?: string;
}

interface SyncOptions extends CommonOptions {
  readonly sync?: boolean;
  readonly pullInterval: string;
  readonly pollInterval: string;
  readonly refreshBefore?: string;
  readonly refreshJitter?: string;
  readonly workerCopy: string;
  readonly oauthTokenUrl?: string;
  readonly oauthClientId?: string;
  readonly healthPort?: string;
  readonly healthHost: string;
  readonly warnBefore: string;
  readonly flushTimeout: string;
}

/** The environment as it was given; the wrapped command inherits this, not our own adjustments below. */
const env: NodeJS.ProcessEnv = { ...process.env };
// The AWS SDK prints a multi-line Node-version notice to stderr on Node 20; our stderr is for our log.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The Google SDK's request logging prints payloads, i.e. tokens, to stderr: never in this process.
delete process.env.GOOGLE_SDK_NODE_LOGGING;

function withProviderOptions(command: Command): Command {
  return command
    .addOption(new Option('-p, --provider <name>', 'where the credentials live').choices(['env', 'file', 'aws', 'gcp', 'azure', 'vault']).env('CLAUDE_CREDS_PROVIDER'))
    .addOption(
      new Option('-s, --secret <ref>', 'the secret, in the provider\'s form: file path, variable name, AWS name/ARN, GCP projects/P/secrets/S, Key Vault URL, Vault KV mount/path[#field]').env(
        'CLAUDE_CREDS_SECRET',
      ),
    )
    .addOption(new Option('--region <region>', 'AWS region (default: the SDK\'s chain, AWS_REGION)').env('CLAUDE_CREDS_REGION'))
    .addOption(new Option('--endpoint <url>', 'store endpoint override (LocalStack, emulators, private endpoints)').env('CLAUDE_CREDS_ENDPOINT'))
    .addOption(new Option('--project <id>', 'GCP project for a short secret name (default: GOOGLE_CLOUD_PROJECT)').env('CLAUDE_CREDS_PROJECT'))
    .addOption(new Option('--vault-url <url>', 'Azure Key Vault URL for a short secret name').env('CLAUDE_CREDS_VAULT_URL'))
    .addOption(new Option('--ca-file <path>', 'PEM certificate(s) to trust for the store endpoint').env('CLAUDE_CREDS_CA_FILE'))
    .addOption(new Option('--timeout <duration>', 'give up on the store after this long, retries included').env('CLAUDE_CREDS_TIMEOUT').default('60s'));
}

function withLocalFileOptions(command: Command): Command {
  return command
    .addOption(new Option('-o, --out <path>', 'credentials file to write (default: $CLAUDE_CONFIG_DIR/.credentials.json or ~/.claude/.credentials.json)').env('CLAUDE_CREDS_OUT'))
    .addOption(new Option('--owner <uid:gid>', 'chown the file and its directory (numeric; needs root)').env('CLAUDE_CREDS_OWNER'))
    .addOption(new Option('--force', 'replace the local file even when it is newer than the store').env('CLAUDE_CREDS_FORCE'))
    .addOption(new Option('--keep-existing', 'when the store is unreachable, keep a valid, unexpired local file and exit 0').env('CLAUDE_CREDS_KEEP_EXISTING'))
    .addOption(new Option('--seed-onboarding', 'create .claude.json with hasCompletedOnboarding when missing (headless CLIs)').env('CLAUDE_CREDS_SEED_ONBOARDING'));
}

function withSyncOptions(command: Command): Command {
  return command
    .addOption(new Option('--pull-interval <duration>', 'how often to read the store for tokens other workers pushed').env('CLAUDE_CREDS_PULL_INTERVAL').default('5m'))
    .addOption(new Option('--poll-interval <duration>', 'stat poll of the local file beside the directory watch (NFS); 0 = off').env('CLAUDE_CREDS_POLL_INTERVAL').default('10s'))
    .addOption(new Option('--refresh-before <duration>', 'refresh the login for all workers this long before it expires (off unless given; recommended for more than one worker)').env('CLAUDE_CREDS_REFRESH_BEFORE'))
    .addOption(new Option('--refresh-jitter <duration>', 'random delay spread over sidecars before refreshing (default: a third of --refresh-before, at most 5m)').env('CLAUDE_CREDS_REFRESH_JITTER'))
    .addOption(new Option('--worker-copy <kind>', 'what the worker\'s file holds: full, or access-only (no refresh token; needs --refresh-before)').choices(['full', 'access-only']).env('CLAUDE_CREDS_WORKER_COPY').default('full'))
    .addOption(new Option('--oauth-token-url <url>', 'OAuth token endpoint for proactive refresh').env('CLAUDE_CREDS_OAUTH_TOKEN_URL'))
    .addOption(new Option('--oauth-client-id <id>', 'OAuth client id for proactive refresh').env('CLAUDE_CREDS_OAUTH_CLIENT_ID'))
    .addOption(new Option('--health-port <port>', 'serve /healthz, /readyz, /status and /metrics on this port').env('CLAUDE_CREDS_HEALTH_PORT'))
    .addOption(new Option('--health-host <host>', 'address for the health endpoints').env('CLAUDE_CREDS_HEALTH_HOST').default('0.0.0.0'))
    .addOption(new Option('--warn-before <durations>', 'log a warning when the token has less than each of these left').env('CLAUDE_CREDS_WARN_BEFORE').default('1h,10m'))
    .addOption(new Option('--flush-timeout <duration>', 'on SIGTERM, time allowed to push what is newer locally').env('CLAUDE_CREDS_FLUSH_TIMEOUT').default('10s'));
}

function withLogOptions(command: Command): Command {
  return command
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('CLAUDE_CREDS_LOG_LEVEL').default('info'))
    .addOption(new Option('--log-format <format>', 'json, or pretty (default when stderr is a terminal)').choices(['json', 'pretty']).env('CLAUDE_CREDS_LOG_FORMAT'))
    // Every command takes log options, so --dry-run rides along here: one flag, the same on all of them.
    .addOption(
      new Option('--dry-run', 'check every flag and setting as a real run would, print what would be done, exit 0: no store call, no file written, no command started').env(
        'CLAUDE_CREDS_DRY_RUN',
      ),
    );
}

/**
 * The end of a --dry-run, once the settings were built exactly as for a real run. The provider is
 * created (that checks its own settings: secret form, region, project, vault URL) and closed again
 * without a call to the store. The line names locations and flags, never a secret's value.
 */
async function dryRunReport(summary: string, provider: ProviderChoice | undefined): Promise<number> {
  let source = '';
  if (provider !== undefined) {
    const created = await createProvider(provider.config);
    try {
      source = ` [${provider.config.name} provider (${provider.reason}): ${created.location}]`;
    } finally {
      await created.close?.();
    }
  }
  process.stderr.write(`claude-creds: dry run: would ${summary}${source}\n`);
  return EXIT.ok;
}

async function contextFrom(options: CommonOptions): Promise<CommandContext> {
  const logger = await createLogger({
    level: options.logLevel as LogLevel,
    pretty: options.logFormat === undefined ? process.stderr.isTTY === true : options.logFormat === 'pretty',
  });
  return {
    logger,
    now: Date.now,
    retry: { ...DEFAULT_RETRY_POLICY, deadlineMs: parseDuration(options.timeout, '--timeout') },
  };
}

async function seedOnboardingIfAsked(options: CommonOptions, context: CommandContext): Promise<void> {
  if (!options.seedOnboarding) return;
  const { seedOnboarding } = await import('./io/onboarding.js');
  const path = onboardingPath(env, homedir());
  const owner = options.owner === undefined ? undefined : parseOwner(options.owner);
  const result = await seedOnboarding(path, owner);
  context.logger.info({ path, result }, result === 'created' ? 'created .claude.json (onboarding completed)' : '.claude.json exists; left as it is');
}

async function syncSettingsFrom(options: SyncOptions): Promise<SyncCommandSettings> {
  const base = fetchSettingsFrom(options);
  const refreshBeforeMs = options.refreshBefore === undefined ? undefined : parseDuration(options.refreshBefore, '--refresh-before');
  if (options.workerCopy === 'access-only' && refreshBeforeMs === undefined) {
    throw new UsageError('--worker-copy access-only needs --refresh-before: a worker without a refresh token relies on the sidecar to refresh');
  }
  let refresh: SyncCommandSettings['refresh'];
  if (refreshBeforeMs !== undefined) {
    const { DEFAULT_OAUTH_SETTINGS, refreshOAuthTokens } = await import('./oauth/refresh-client.js');
    const oauth = {
      ...DEFAULT_OAUTH_SETTINGS,
      ...(options.oauthTokenUrl ? { tokenUrl: options.oauthTokenUrl } : {}),
      ...(options.oauthClientId ? { clientId: options.oauthClientId } : {}),
    };
    refresh = {
      beforeMs: refreshBeforeMs,
      jitterMs: options.refreshJitter === undefined ? Math.min(300_000, refreshBeforeMs / 3) : parseDuration(options.refreshJitter, '--refresh-jitter'),
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
    pullIntervalMs: parseDuration(options.pullInterval, '--pull-interval'),
    pollIntervalMs: parseDuration(options.pollInterval, '--poll-interval'),
    debounceMs: 150,
    accessOnly: options.workerCopy === 'access-only',
    warnBeforeMs: options.warnBefore.split(',').filter((part) => part.trim() !== '').map((part) => parseDuration(part, '--warn-before')),
    refresh,
    holderId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    health: port === undefined ? undefined : { host: options.healthHost, port },
    flushTimeoutMs: parseDuration(options.flushTimeout, '--flush-timeout'),
  };
}

/** Resolves on the first SIGTERM or SIGINT: the sidecar's cue to flush and leave. */
function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const once = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', once);
      process.off('SIGINT', once);
      resolve(signal);
    };
    process.on('SIGTERM', once);
    process.on('SIGINT', once);
  });
}

function fetchSettingsFrom(options: CommonOptions) {
  return {
    provider: chooseProvider(options, env),
    out: options.out ?? defaultCredentialsPath(env, homedir()),
    owner: options.owner === undefined ? undefined : parseOwner(options.owner),
    force: options.force === true,
    keepExisting: options.keepExisting === true,
    kind: parseKindOption(options.kind),
    apiKeyHelper: { command: options.helperCommand === '' ? undefined : options.helperCommand, invocation: selfInvocation() },
  };
}

/**
 * How to run this claude-creds again, for the `apiKeyHelper` command line: node, its own flags (the dev
 * entry needs `--import tsx`), and the absolute path of the entry script. Names and paths only.
 */
function selfInvocation(): string[] {
  const entry = process.argv[1];
  return entry === undefined ? ['claude-creds'] : [process.execPath, ...process.execArgv, resolvePath(entry)];
}

/** `--kind` (all of fetch, run, status, api-key); with `deliver`, the flags of the api-key delivery too. */
function withKindOption(command: Command, deliver: boolean): Command {
  command.addOption(
    new Option('--kind <kind>', 'what the secret holds: oauth (.credentials.json), api-key, oauth-token (claude setup-token); default: detected from its content')
      .choices(CREDENTIAL_KINDS)
      .env('CLAUDE_CREDS_KIND'),
  );
  if (!deliver) return command;
  return command.addOption(
    new Option('--helper-command <command>', 'kind api-key: the apiKeyHelper command to put in settings.json (default: this claude-creds\'s `api-key` with the same store flags)').env(
      'CLAUDE_CREDS_HELPER_COMMAND',
    ),
  );
}

/** --dry-run wording for an explicit --kind. */
function kindNote(kind: string | undefined): string {
  return kind === undefined ? '' : ` (kind ${kind})`;
}

/** --dry-run wording for the local side: the file, its owner, and the onboarding seed. */
function describeLocalWrite(settings: { readonly out: string; readonly owner: Owner | undefined; readonly force?: boolean }, options: CommonOptions): string {
  const owner = settings.owner === undefined ? '' : ` owned by ${settings.owner.uid}:${settings.owner.gid}`;
  const force = options.force ? ' (--force)' : '';
  const onboarding = options.seedOnboarding ? ', seed .claude.json' : '';
  return `write ${settings.out}${owner}${force}${onboarding}`;
}

/** --dry-run wording for the sync settings, from the parsed values (so a bad duration never gets here). */
function describeSync(settings: SyncCommandSettings): string {
  const parts = [`pull every ${formatDuration(settings.pullIntervalMs)}`, `worker copy ${settings.accessOnly ? 'access-only' : 'full'}`];
  if (settings.refresh !== undefined) parts.push(`refresh ${formatDuration(settings.refresh.beforeMs)} before expiry`);
  if (settings.health !== undefined) parts.push(`health on ${settings.health.host}:${settings.health.port}`);
  return parts.join(', ');
}

const EXAMPLES = {
  fetch: `
Examples:
  $ claude-creds fetch --provider aws --secret claude-oauth-credentials
  $ claude-creds fetch --provider gcp --secret projects/my-proj/secrets/claude-credentials
  $ claude-creds fetch --provider azure --secret https://my-vault.vault.azure.net/secrets/claude-credentials
  $ CLAUDE_CREDENTIALS_B64="$(base64 -w0 ~/.claude/.credentials.json)" claude-creds fetch
  $ claude-creds fetch --provider file --secret /mnt/efs/claude/credentials.json --owner 1000:1000`,
  run: `
Examples:
  $ claude-creds -- python worker.py
  $ claude-creds run --provider aws --secret claude-oauth-credentials -- claude -p "hello"
  $ docker run -e CLAUDE_CREDENTIALS_B64 IMAGE -- python worker.py`,
  sidecar: `
Examples:
  $ claude-creds sidecar --provider aws --secret claude-oauth-credentials --health-port 8080
  $ claude-creds sidecar --secret projects/p/secrets/claude --refresh-before 30m --worker-copy access-only
  $ claude-creds run --sync --provider file --secret /mnt/efs/claude/credentials.json -- python worker.py`,
  status: `
Exit codes: 0 valid, 1 expiring within --warn-before, 2 expired, 3 invalid, 4 missing.

Examples:
  $ claude-creds status
  $ claude-creds status --json --warn-before 30m`,
  push: `
Examples (once, after \`claude login\` on a machine with a browser):
  $ claude-creds push --provider aws --secret claude-oauth-credentials
  $ claude-creds push --provider file --secret /mnt/efs/claude/credentials.json --from ~/.claude/.credentials.json`,
};

export function buildProgram(run: (task: () => Promise<number>) => Promise<void>): Command {
  const program = new Command('claude-creds')
    .description('Deliver Claude Code OAuth credentials to headless containers from a secret store, and keep them fresh.')
    .version(packageJson.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();

  withKindOption(withLogOptions(withLocalFileOptions(withProviderOptions(program.command('fetch')))), true)
    .description('read the credentials from the store, validate them and write the local file (init container)')
    .addHelpText('after', EXAMPLES.fetch)
    .action((options: CommonOptions) =>
      run(async () => {
        const context = await contextFrom(options);
        const settings = fetchSettingsFrom(options);
        if (options.dryRun) return dryRunReport(`fetch${kindNote(settings.kind)} and ${describeLocalWrite(settings, options)}`, settings.provider);
        const delivered = await fetchCredentials(settings, context);
        if (typeof delivered === 'object' && delivered.kind === 'oauth-token') {
          context.logger.warn(
            { infoPath: delivered.infoPath },
            'kind oauth-token: the setup token is not written anywhere; `claude-creds [options] -- COMMAND` hands it to the command through a file descriptor' +
              (options.seedOnboarding ? '' : ' (add --seed-onboarding so a headless CLI skips the onboarding wizard)'),
          );
        }
        await seedOnboardingIfAsked(options, context);
        return EXIT.ok;
      }),
    );

  withKindOption(withSyncOptions(withLogOptions(withLocalFileOptions(withProviderOptions(program.command('run', { isDefault: true }))))), true)
    .description('fetch, then run COMMAND with the same stdio, forwarding signals and exiting with its status')
    .argument('[command...]', 'the command to run, after --')
    .addOption(new Option('--sync', 'keep syncing beside the command, as the sidecar does (push refreshed tokens, pull newer ones)').env('CLAUDE_CREDS_SYNC'))
    .addOption(
      new Option('--token-via <how>', 'kind oauth-token: hand the token over by fd (CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR) or env (CLAUDE_CODE_OAUTH_TOKEN, less safe: the whole process tree sees it)')
        .choices(['fd', 'env'])
        .env('CLAUDE_CREDS_TOKEN_VIA')
        .default('fd'),
    )
    .passThroughOptions()
    .addHelpText('after', EXAMPLES.run)
    .action((commandLine: string[], options: SyncOptions) =>
      run(async () => {
        const [command, ...args] = commandLine;
        if (command === undefined) throw new UsageError('no command to run: use `claude-creds [options] -- COMMAND [ARGS...]`, or `claude-creds fetch`');
        const context = await contextFrom(options);
        const settings = fetchSettingsFrom(options);
        if (options.dryRun) {
          const syncing = options.sync ? `, keep syncing (${describeSync(await syncSettingsFrom(options))})` : '';
          const argCount = args.length === 1 ? '1 argument' : `${args.length} arguments`;
          return dryRunReport(`fetch${kindNote(settings.kind)} and ${describeLocalWrite(settings, options)}${syncing}, then run "${command}" with ${argCount}`, settings.provider);
        }
        let sync: import('./commands/sync.js').RunningSync | undefined;
        let delivered: Awaited<ReturnType<typeof fetchCredentials>> | undefined;
        if (options.sync) {
          if (settings.kind !== undefined && settings.kind !== 'oauth') {
            throw new UsageError(`--sync keeps a .credentials.json login (kind oauth) in step with the store; it does not apply to --kind ${settings.kind}`);
          }
          const { startSync } = await import('./commands/sync.js');
          sync = await startSync(await syncSettingsFrom(options), context);
        } else {
          delivered = await fetchCredentials(settings, context);
        }
        await seedOnboardingIfAsked(options, context);
        const childEnv = { ...env };
        for (const name of secretVariables(settings.provider.config)) delete childEnv[name];
        const extraFds: number[] = [];
        if (typeof delivered === 'object' && delivered.kind === 'oauth-token') {
          // Whatever the environment held before must not override (or sit beside) the token handed over.
          delete childEnv.CLAUDE_CODE_OAUTH_TOKEN;
          delete childEnv.CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR;
          if (options.tokenVia === 'env') {
            childEnv.CLAUDE_CODE_OAUTH_TOKEN = delivered.secret.token;
          } else {
            const { openTokenDescriptor } = await import('./commands/kinds.js');
            extraFds.push(openTokenDescriptor(delivered.secret.token));
            childEnv.CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR = '3';
          }
          context.logger.info({ via: options.tokenVia === 'env' ? 'CLAUDE_CODE_OAUTH_TOKEN' : 'CLAUDE_CODE_OAUTH_TOKEN_FILE_DESCRIPTOR=3' }, 'handing the setup token to the command');
        }
        context.logger.info({ command }, 'starting the command');
        const outcome = await runChild(command, args, {
          env: childEnv,
          extraFds,
          onSignal: (signal) => context.logger.info({ signal }, 'forwarding signal to the command'),
        });
        context.logger.info({ exitCode: outcome.exitCode, signal: outcome.signal }, 'the command ended');
        await sync?.stop();
        return outcome.exitCode;
      }),
    );

  withSyncOptions(withLogOptions(withLocalFileOptions(withProviderOptions(program.command('sidecar')))))
    .description('stay up beside the worker: push tokens the CLI refreshed, pull newer ones, optionally refresh for everyone, serve health')
    .addHelpText('after', EXAMPLES.sidecar)
    .action((options: SyncOptions) =>
      run(async () => {
        const context = await contextFrom(options);
        if (options.dryRun) {
          const settings = await syncSettingsFrom(options);
          return dryRunReport(`keep ${describeLocalWrite(settings, options).replace(/^write /, '')} in step with the store (${describeSync(settings)})`, settings.provider);
        }
        const { startSync } = await import('./commands/sync.js');
        const sync = await startSync(await syncSettingsFrom(options), context);
        await seedOnboardingIfAsked(options, context);
        const signal = await shutdownSignal();
        context.logger.info({ signal }, 'shutting down: pushing anything newer first');
        await sync.stop();
        return EXIT.ok;
      }),
    );

  withKindOption(withLogOptions(program.command('status')), false)
    .description('report on the local credentials file: present, valid, expiry (never a token)')
    .addOption(new Option('-o, --out <path>', 'credentials file to inspect (default as for fetch)').env('CLAUDE_CREDS_OUT'))
    .addOption(new Option('--json', 'print JSON'))
    .addOption(new Option('--warn-before <duration>', 'report "expiring" when less than this is left').env('CLAUDE_CREDS_WARN_BEFORE').default('5m'))
    .addHelpText('after', EXAMPLES.status)
    .action((options: { out?: string; json?: boolean; warnBefore: string; logLevel: string; dryRun?: boolean; kind?: string }) =>
      run(async () => {
        const path = options.out ?? defaultCredentialsPath(env, homedir());
        const warnBeforeMs = parseDuration(options.warnBefore, '--warn-before');
        const kind = parseKindOption(options.kind);
        if (options.dryRun) return dryRunReport(`report${kindNote(kind)} on ${path} (expiring when less than ${formatDuration(warnBeforeMs)} is left)`, undefined);
        const now = Date.now();
        let report = kind === undefined || kind === 'oauth' ? buildStatusReport(path, await readLocalCredentials(path), now, warnBeforeMs) : undefined;
        if (report === undefined || (kind === undefined && report.state === 'missing')) {
          // The other kinds leave their own records beside the (absent) credentials file; never a token.
          const { apiKeyStatus, oauthTokenStatus } = await import('./commands/kinds.js');
          if (kind === 'api-key') report = await apiKeyStatus(path, now);
          else if (kind === 'oauth-token') report = await oauthTokenStatus(path, now, warnBeforeMs);
          else {
            const others = [await apiKeyStatus(path, now), await oauthTokenStatus(path, now, warnBeforeMs)].filter((other) => other.present);
            if (others.length === 1) report = others[0];
          }
        }
        if (report === undefined) throw new Error('unreachable: no status report');
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatusText(report));
        return STATUS_EXIT[report.state];
      }),
    );

  withKindOption(withLogOptions(withProviderOptions(program.command('api-key'))), false)
    .description('the Claude CLI\'s apiKeyHelper (kind api-key): print the API key on stdout and nothing else, from a short-lived cache')
    .addOption(new Option('--cache <path>', `the key cache (0600; default: ${API_KEY_CACHE_NAME} beside the credentials file)`).env('CLAUDE_CREDS_API_KEY_CACHE'))
    .addOption(new Option('--cache-ttl <duration>', 're-read the store when the cached key is older than this').env('CLAUDE_CREDS_API_KEY_CACHE_TTL').default(formatDuration(DEFAULT_API_KEY_CACHE_TTL_MS).replace(/\s/g, '')))
    .addOption(
      new Option('--recall-window <duration>', 'a call this soon after the last one is taken for the CLI\'s re-call after a 401: re-read the store (0 turns it off)')
        .env('CLAUDE_CREDS_RECALL_WINDOW')
        .default(`${DEFAULT_RECALL_WINDOW_MS / 1000}s`),
    )
    .action((options: CommonOptions & { cache?: string; cacheTtl: string; recallWindow: string }, command: Command) =>
      run(async () => {
        const kind = parseKindOption(options.kind);
        if (kind !== undefined && kind !== 'api-key') throw new UsageError(`the api-key helper serves API keys only, not --kind ${kind}`);
        // A helper is quiet and quick: warnings only, and well inside the 10 s after which the Claude CLI complains.
        const logLevel = command.getOptionValueSource('logLevel') === 'default' ? 'warn' : options.logLevel;
        const timeout = command.getOptionValueSource('timeout') === 'default' ? '8s' : options.timeout;
        const context = await contextFrom({ ...options, logLevel, timeout });
        const cachePath = options.cache ?? resolvePath(defaultCredentialsPath(env, homedir()), '..', API_KEY_CACHE_NAME);
        const cliTtl = env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS === undefined ? undefined : Number(env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS);
        const settings = {
          cachePath,
          cacheTtlMs: parseDuration(options.cacheTtl, '--cache-ttl'),
          recallWindowMs: recallWindowFor(cliTtl, parseDuration(options.recallWindow, '--recall-window')),
          provider: () => chooseProvider(options, env),
        };
        if (options.dryRun) {
          return dryRunReport(`print the API key from ${cachePath} (re-read the store when older than ${formatDuration(settings.cacheTtlMs)})`, undefined);
        }
        const { serveApiKey } = await import('./commands/api-key.js');
        const apiKey = await serveApiKey(settings, context);
        process.stdout.write(`${apiKey}\n`);
        return EXIT.ok;
      }),
    );

  withLogOptions(withProviderOptions(program.command('push')))
    .description('validate the local credentials file and store it (the bootstrap after `claude login`)')
    .addOption(new Option('--from <path>', 'credentials file to store (default as for fetch --out)').env('CLAUDE_CREDS_FROM'))
    .addOption(new Option('--force', 'store even when the store holds newer credentials'))
    .addHelpText('after', EXAMPLES.push)
    .action((options: CommonOptions & { from?: string }) =>
      run(async () => {
        const context = await contextFrom(options);
        const settings = {
          provider: chooseProvider(options, env),
          from: options.from ?? defaultCredentialsPath(env, homedir()),
          force: options.force === true,
        };
        if (options.dryRun) return dryRunReport(`store ${settings.from}${settings.force ? ' (--force)' : ''}`, settings.provider);
        await pushCredentials(settings, context);
        return EXIT.ok;
      }),
    );

  return program;
}

/** Runs one command's task and turns its result or error into the process exit code. */
function runTask(task: () => Promise<number>): Promise<void> {
  return task().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError(error);
    },
  );
}

function reportError(error: unknown): number {
  if (isClaudeCredsError(error)) {
    process.stderr.write(`claude-creds: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`claude-creds: unexpected error: ${describeCause(error)}\n`);
  return EXIT.software;
}

export async function main(argv: readonly string[]): Promise<void> {
  // An SDK that rejects a promise nobody awaits must still end in one line and an exit code.
  process.on('unhandledRejection', (reason) => {
    process.exitCode = reportError(reason);
  });
  // `claude-creds status | head` closes stdout early: that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const program = buildProgram(runTask);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      const clean = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      process.exitCode = clean ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = reportError(error);
  }
}

await main(process.argv);
