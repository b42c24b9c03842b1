/** `--seed-onboarding` (fetch, run, sidecar): create `.claude.json` so a headless CLI skips the wizard. */
import type { Owner } from '../core/config.js';
import type { CommandContext } from '../core/context.js';

export interface OnboardingTarget {
  readonly path: string;
  readonly owner: Owner | undefined;
}

export async function seedOnboardingIfAsked(target: OnboardingTarget | undefined, context: CommandContext): Promise<void> {
  if (target === undefined) return;
  const { seedOnboarding } = await import('../io/onboarding.js');
  const result = await seedOnboarding(target.path, target.owner);
  context.logger.info({ path: target.path, result }, result === 'created' ? 'created .claude.json (onboarding completed)' : '.claude.json exists; left as it is');
}
