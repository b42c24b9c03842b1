/** `claude-creds api-key`: the Claude CLI's apiKeyHelper. Owns its flags, help text and examples. */
import { resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { chooseProvider, defaultCredentialsPath } from '../../core/config.js';
import { API_KEY_CACHE_NAME, DEFAULT_API_KEY_CACHE_TTL_MS, DEFAULT_RECALL_WINDOW_MS, parseKindOption, recallWindowFor } from '../../core/credential-kind.js';
import { formatDuration } from '../../core/duration.js';
import { DURATION_BOUNDS, parseBoundedDuration, parseRequiredDuration } from '../../core/duration-bounds.js';
import { EXIT, UsageError } from '../../core/errors.js';
import { contextFrom } from '../context.js';
import { dryRunReport } from '../dry-run.js';
import { withKindOption, type KindFlagValues } from '../options/kind-options.js';
import { withLogOptions, type LogFlagValues } from '../options/log-options.js';
import { withProviderOptions, type StoreFlagValues } from '../options/provider-options.js';
import type { CliRuntime } from '../runtime.js';

const EXAMPLES = `
Examples (what the Claude CLI runs as its apiKeyHelper; \`fetch --kind api-key\` writes it into settings.json):
  $ claude-creds api-key --provider aws --secret claude-api-key
  $ claude-creds api-key --provider file --secret /run/secrets/claude-api-key --cache-ttl 10m`;

type ApiKeyFlagValues = StoreFlagValues & LogFlagValues & KindFlagValues & { readonly cache?: string; readonly cacheTtl: string; readonly recallWindow: string };

export function addApiKeyCommand(program: Command, runtime: CliRuntime): void {
  withKindOption(withLogOptions(withProviderOptions(program.command('api-key'))), false)
    .description('the Claude CLI\'s apiKeyHelper (kind api-key): print the API key on stdout and nothing else, from a short-lived cache')
    .addOption(new Option('--cache <path>', `the key cache (0600; default: ${API_KEY_CACHE_NAME} beside the credentials file)`).env('CLAUDE_CREDS_API_KEY_CACHE'))
    .addOption(new Option('--cache-ttl <duration>', 're-read the store when the cached key is older than this').env('CLAUDE_CREDS_API_KEY_CACHE_TTL').default(formatDuration(DEFAULT_API_KEY_CACHE_TTL_MS)))
    .addOption(
      new Option('--recall-window <duration>', 'a call this soon after the last one is taken for the CLI\'s re-call after a 401: re-read the store (or off)')
        .env('CLAUDE_CREDS_RECALL_WINDOW')
        .default(formatDuration(DEFAULT_RECALL_WINDOW_MS)),
    )
    .addHelpText('after', EXAMPLES)
    .action((options: ApiKeyFlagValues, command: Command) =>
      runtime.run(async () => {
        const kind = parseKindOption(options.kind);
        if (kind !== undefined && kind !== 'api-key') throw new UsageError(`the api-key helper serves API keys only, not --kind ${kind}`);
        // A helper is quiet and quick: warnings only, and well inside the 10 s after which the Claude CLI complains.
        const logLevel = command.getOptionValueSource('logLevel') === 'default' ? 'warn' : options.logLevel;
        const timeout = command.getOptionValueSource('timeout') === 'default' ? '8s' : options.timeout;
        const context = await contextFrom({ ...options, logLevel, timeout });
        const cachePath = options.cache ?? resolvePath(defaultCredentialsPath(runtime.env, runtime.homedir), '..', API_KEY_CACHE_NAME);
        const cliTtl = runtime.env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS === undefined ? undefined : Number(runtime.env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS);
        const settings = {
          cachePath,
          cacheTtlMs: parseRequiredDuration(options.cacheTtl, DURATION_BOUNDS.cacheTtl),
          // off: 0, which no gap between two calls is shorter than.
          recallWindowMs: recallWindowFor(cliTtl, parseBoundedDuration(options.recallWindow, DURATION_BOUNDS.recallWindow) ?? 0),
          provider: () => chooseProvider(options, runtime.env),
        };
        if (options.dryRun) {
          return dryRunReport(`print the API key from ${cachePath} (re-read the store when older than ${formatDuration(settings.cacheTtlMs)})`, undefined);
        }
        const { serveApiKey } = await import('../../commands/api-key.js');
        const apiKey = await serveApiKey(settings, context);
        process.stdout.write(`${apiKey}\n`);
        return EXIT.ok;
      }),
    );
}
