/** `claude-creds status`: the health probe of the local file. Owns its flags, help text and examples. */
import { Option, type Command } from 'commander';
import { STATUS_EXIT, buildStatusReport, formatStatusText, readStatusInput } from '../../commands/status.js';
import { defaultCredentialsPath } from '../../core/config.js';
import { parseKindOption } from '../../core/credential-kind.js';
import { formatDuration } from '../../core/duration.js';
import { DURATION_BOUNDS, parseBoundedDurationList } from '../../core/duration-bounds.js';
import { printableJson } from '../../core/printable.js';
import { dryRunReport, kindNote } from '../dry-run.js';
import { withKindOption, type KindFlagValues } from '../options/kind-options.js';
import { withLogOptions, type LogFlagValues } from '../options/log-options.js';
import type { CliRuntime } from '../runtime.js';

const EXAMPLES = `
Exit codes: 0 valid, 1 expiring (less than the largest --warn-before left, or the login itself ends
within the largest --login-warn-before), 2 expired, 3 invalid (also: not a regular file, unreadable),
4 missing; 64 and 78 for bad flags or settings. --warn-before takes the same comma list as the
sidecar's (CLAUDE_CREDS_WARN_BEFORE=1h,10m means "expiring" with less than 1h left), so one variable
serves both.

Examples:
  $ claude-creds status
  $ claude-creds status --json --warn-before 30m`;

type StatusFlagValues = LogFlagValues & KindFlagValues & { readonly out?: string; readonly json?: boolean; readonly warnBefore: string; readonly loginWarnBefore: string };

export function addStatusCommand(program: Command, runtime: CliRuntime): void {
  withKindOption(withLogOptions(program.command('status')), false)
    .description('report on the local credentials file: present, valid, expiry (never a token)')
    .addOption(new Option('-o, --out <path>', 'credentials file to inspect (default as for fetch)').env('CLAUDE_CREDS_OUT'))
    .addOption(new Option('--json', 'print JSON'))
    .addOption(
      new Option('--warn-before <durations>', 'report "expiring" when less than this is left; a comma list as for the sidecar counts by its largest')
        .env('CLAUDE_CREDS_WARN_BEFORE')
        .default('5m'),
    )
    .addOption(new Option('--login-warn-before <durations>', 'report "expiring" when the login itself ends within the largest of these').env('CLAUDE_CREDS_LOGIN_WARN_BEFORE').default('7d,3d,1d'))
    .addHelpText('after', EXAMPLES)
    .action((options: StatusFlagValues) =>
      runtime.run(async () => {
        const path = options.out ?? defaultCredentialsPath(runtime.env, runtime.homedir);
        // One meaning for CLAUDE_CREDS_WARN_BEFORE everywhere: the sidecar's list of thresholds; status
        // says "expiring" once the first of them (the largest) is crossed.
        const warnBeforeMs = Math.max(...parseBoundedDurationList(options.warnBefore, DURATION_BOUNDS.warnBefore));
        const kind = parseKindOption(options.kind);
        const loginWarnBeforeMs = Math.max(0, ...parseBoundedDurationList(options.loginWarnBefore, { ...DURATION_BOUNDS.warnBefore, flag: '--login-warn-before' }));
        if (options.dryRun) return dryRunReport(`report${kindNote(kind)} on ${path} (expiring when less than ${formatDuration(warnBeforeMs)} is left)`, undefined);
        const now = Date.now();
        let report = kind === undefined || kind === 'oauth' ? buildStatusReport(path, await readStatusInput(path), now, warnBeforeMs, loginWarnBeforeMs) : undefined;
        if (report === undefined || (kind === undefined && report.state === 'missing')) {
          // The other kinds leave their own records beside the (absent) credentials file; never a token.
          const { apiKeyStatus, oauthTokenStatus } = await import('../../commands/kinds.js');
          if (kind === 'api-key') report = await apiKeyStatus(path, now);
          else if (kind === 'oauth-token') report = await oauthTokenStatus(path, now, warnBeforeMs);
          else {
            const others = [await apiKeyStatus(path, now), await oauthTokenStatus(path, now, warnBeforeMs)].filter((other) => other.present);
            if (others.length === 1) report = others[0];
          }
        }
        if (report === undefined) throw new Error('unreachable: no status report');
        process.stdout.write(options.json ? `${printableJson(report, 2)}\n` : formatStatusText(report));
        return STATUS_EXIT[report.state];
      }),
    );
}
