/**
 * --dry-run: the end of a command once its settings were built exactly as for a real run. The provider
 * is created (that checks its own settings: secret form, region, project, vault URL) and closed again
 * without a call to the store. The line names locations and flags, never a secret's value.
 */
import type { SyncCommandSettings } from '../commands/sync.js';
import type { Owner, ProviderChoice } from '../core/config.js';
import { formatDuration } from '../core/duration.js';
import { EXIT } from '../core/errors.js';
import { createProvider } from '../providers/registry.js';

export async function dryRunReport(summary: string, provider: ProviderChoice | undefined): Promise<number> {
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

/** Wording for an explicit --kind. */
export function kindNote(kind: string | undefined): string {
  return kind === undefined ? '' : ` (kind ${kind})`;
}

/** Wording for the local side: the file, its owner, and the onboarding seed. */
export function describeLocalWrite(
  settings: { readonly out: string; readonly owner: Owner | undefined },
  options: { readonly force?: boolean; readonly seedOnboarding?: boolean },
): string {
  const owner = settings.owner === undefined ? '' : ` owned by ${settings.owner.uid}:${settings.owner.gid}`;
  const force = options.force ? ' (--force)' : '';
  const onboarding = options.seedOnboarding ? ', seed .claude.json' : '';
  return `write ${settings.out}${owner}${force}${onboarding}`;
}

/** Wording for the sync settings, from the parsed values (so a bad duration never gets here). */
export function describeSync(settings: SyncCommandSettings): string {
  const every = (what: string, ms: number): string => (ms === 0 ? `${what} off` : `${what} every ${formatDuration(ms)}`);
  const parts = [every('pull', settings.pullIntervalMs), every('poll', settings.pollIntervalMs), `worker copy ${settings.accessOnly ? 'access-only' : 'full'}`];
  if (settings.refresh !== undefined) parts.push(`refresh ${formatDuration(settings.refresh.beforeMs)} before expiry`);
  if (settings.health !== undefined) parts.push(`health on ${settings.health.host}:${settings.health.port}`);
  return parts.join(', ');
}
