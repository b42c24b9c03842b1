/**
 * Child-process entry of the simulated Claude CLI (run by simulated-claude-cli-process.ts under tsx and
 * the loopback guard). Its one argument is a JSON SimulatedCliProcessConfig (no secrets: the login is
 * in the config dir). Prints `ready` once started, then after the loop (or on SIGTERM, after the request
 * in flight) one line `result <SimulatedClaudeCliReport JSON>`, and exits 0.
 */
import { SimulatedClaudeCli, type SimulatedClaudeCliOptions } from './simulated-claude-cli.js';

export interface SimulatedCliProcessConfig extends Omit<SimulatedClaudeCliOptions, 'identity' | 'random'> {
  /** Requests to make; default unbounded (until SIGTERM). */
  readonly requests?: number;
  readonly intervalMs?: number;
}

const raw = process.argv[2];
if (raw === undefined) throw new Error('usage: simulated-claude-cli-main <config json>');
const config = JSON.parse(raw) as SimulatedCliProcessConfig;
const cli = new SimulatedClaudeCli(config);
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
process.stdout.write('ready\n');
const report = await cli.run(config.requests ?? Number.MAX_SAFE_INTEGER, config.intervalMs ?? 0, stop.signal);
process.stdout.write(`result ${JSON.stringify(report)}\n`);
