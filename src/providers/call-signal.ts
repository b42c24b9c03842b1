import type { CallOptions } from '../core/provider.js';

/** One signal for a whole provider call: the caller's, bounded by its time budget. */
export function callSignal(options: CallOptions | undefined): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (options?.signal) signals.push(options.signal);
  if (options?.timeoutMs !== undefined) signals.push(AbortSignal.timeout(Math.max(1, options.timeoutMs)));
  if (signals.length <= 1) return signals[0];
  return AbortSignal.any(signals);
}
