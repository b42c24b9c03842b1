/** The flags of the long-running side: sync, proactive refresh and the health endpoints (sidecar, run --sync). */
import { Option, type Command } from 'commander';
import { HELP_GROUP } from '../help.js';

export interface SyncFlagValues {
  readonly pullInterval: string;
  readonly pollInterval: string;
  readonly refreshBefore?: string;
  readonly refreshJitter?: string;
  readonly workerCopy: string;
  readonly oauthTokenUrl?: string;
  readonly oauthClientId?: string;
  readonly healthPort?: string;
  readonly healthHost: string;
  readonly healthStatusDetails?: boolean;
  readonly warnBefore: string;
  readonly loginWarnBefore: string;
  readonly flushTimeout: string;
}

export function withSyncOptions(command: Command): Command {
  return command
    .addOption(new Option('--pull-interval <duration>', 'how often to read the store for tokens other workers pushed (1s to 1d, or off)').env('CLAUDE_CREDS_PULL_INTERVAL').default('5m').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--poll-interval <duration>', 'stat poll of the local file beside the directory watch, for NFS (1s to 1h, or off)').env('CLAUDE_CREDS_POLL_INTERVAL').default('10s').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--refresh-before <duration>', 'refresh the login for all workers this long before it expires (off unless given; recommended for more than one worker)').env('CLAUDE_CREDS_REFRESH_BEFORE').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--refresh-jitter <duration>', 'random delay spread over sidecars before refreshing (default: a third of --refresh-before, at most 5m)').env('CLAUDE_CREDS_REFRESH_JITTER').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--worker-copy <kind>', 'what the worker\'s file holds: full, or access-only (no refresh token; needs --refresh-before)').choices(['full', 'access-only']).env('CLAUDE_CREDS_WORKER_COPY').default('full').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--oauth-token-url <url>', 'OAuth token endpoint for proactive refresh').env('CLAUDE_CREDS_OAUTH_TOKEN_URL').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--oauth-client-id <id>', 'OAuth client id for proactive refresh').env('CLAUDE_CREDS_OAUTH_CLIENT_ID').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--health-port <port>', 'serve /healthz, /readyz, /status and /metrics on this port').env('CLAUDE_CREDS_HEALTH_PORT').helpGroup(HELP_GROUP.health))
    .addOption(new Option('--health-host <host>', 'address for the health endpoints').env('CLAUDE_CREDS_HEALTH_HOST').default('0.0.0.0').helpGroup(HELP_GROUP.health))
    .addOption(
      new Option('--health-status-details', '/status and /readyz name the store location, provider and file path to any client, not only to loopback')
        .env('CLAUDE_CREDS_HEALTH_STATUS_DETAILS')
        .helpGroup(HELP_GROUP.health),
    )
    .addOption(new Option('--warn-before <durations>', 'log a warning when the token has less than each of these left').env('CLAUDE_CREDS_WARN_BEFORE').default('1h,10m').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--login-warn-before <durations>', 'log a warning when the login itself (about 30 days after `claude login`) has less than each of these left').env('CLAUDE_CREDS_LOGIN_WARN_BEFORE').default('7d,3d,1d').helpGroup(HELP_GROUP.sync))
    .addOption(new Option('--flush-timeout <duration>', 'on SIGTERM, time allowed to push what is newer locally').env('CLAUDE_CREDS_FLUSH_TIMEOUT').default('10s').helpGroup(HELP_GROUP.sync));
}
