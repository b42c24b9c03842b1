/**
 * The sidecar's memory over many pulls, run by bench/memory.ts as its own process (`node --expose-gc`,
 * bundled like dist/ so no loader sits in the heap): startSync exactly as `claude-creds sidecar` calls
 * it, against the store its arguments name, with the shipped JSON logger on stderr.
 *
 * Reads commands on stdin, one per line, and answers each with one JSON line on stdout:
 *   sample            {"rssKb","heapUsedKb","externalKb","arrayBuffersKb"} after a full GC
 *   pull <n>          runs n pulls one after another, then answers like sample, plus {"pulls","ms"}
 *   snapshot <path>   writes a heap snapshot (after a full GC), answers {"path"}
 *   stop              stops the sync (flush) and exits
 */
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { startSync } from '../src/commands/sync.js';
import { DEFAULT_RETRY_POLICY } from '../src/core/retry.js';
import { createLogger } from '../src/io/logger.js';

const [endpoint, secret, out] = process.argv.slice(2) as [string, string, string];
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const logger = await createLogger({ level: 'info', pretty: false });
const context = { logger, now: Date.now, retry: { ...DEFAULT_RETRY_POLICY, deadlineMs: 30_000 } };
const sync = await startSync(
  {
    provider: {
      config: { name: 'aws', secret, region: 'us-east-1', endpoint, project: undefined, vaultUrl: undefined, caFile: undefined, env: { ...process.env } },
      reason: '--provider',
    },
    out,
    owner: undefined,
    // The sidecar's defaults (src/cli/options/sync-options.ts): pulls here come from `pull <n>`.
    pullIntervalMs: 5 * 60_000,
    pollIntervalMs: 10_000,
    debounceMs: 150,
    accessOnly: false,
    warnBeforeMs: [],
    loginWarnBeforeMs: [],
    refresh: undefined,
    holderId: `memory-probe-${process.pid}`,
    health: { host: '127.0.0.1', port: 0 },
    flushTimeoutMs: 5000,
  },
  context,
);

function sample(): Record<string, number> {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  const kb = (bytes: number) => Math.round(bytes / 1024);
  // Compiled code lives in the heap too, and grows while V8 optimises hot paths: reported apart.
  const code = getHeapSpaceStatistics().find((space) => space.space_name === 'code_space')?.space_used_size ?? 0;
  return { rssKb: kb(usage.rss), heapUsedKb: kb(usage.heapUsed), codeKb: kb(code), heapLessCodeKb: kb(usage.heapUsed - code), externalKb: kb(usage.external), arrayBuffersKb: kb(usage.arrayBuffers) };
}

const answer = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [command, argument] = line.trim().split(/\s+/);
  if (command === 'sample') answer(sample());
  else if (command === 'pull') {
    const count = Number(argument);
    const started = performance.now();
    for (let i = 0; i < count; i += 1) await sync.engine.pullNow();
    answer({ pulls: count, ms: performance.now() - started, ...sample() });
  } else if (command === 'snapshot') {
    gc();
    answer({ path: writeHeapSnapshot(argument) });
  } else if (command === 'stop') {
    await sync.stop();
    answer({ stopped: true });
    break;
  }
}
