/**
 * Runs the simulated Claude CLI as its own process (its own pid, so owner records name a real process
 * that can be killed), looping requests at an interval, with a structured result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SimulatedClaudeCliReport } from './simulated-claude-cli.js';
import type { SimulatedCliProcessConfig } from './simulated-claude-cli-main.js';

const MAIN = fileURLToPath(new URL('./simulated-claude-cli-main.ts', import.meta.url));
const GUARD = fileURLToPath(new URL('./loopback-guard.mjs', import.meta.url));

export interface SimulatedCliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the child printed `ready`. */
  readonly ready: Promise<void>;
  /** The child's report; rejects if it exits without one (killed, crashed). */
  readonly result: Promise<SimulatedClaudeCliReport>;
  /** SIGTERM: the child finishes its request in flight and reports. */
  stop(): Promise<SimulatedClaudeCliReport>;
  /** SIGKILL, as a crash: no report, no lock released. Resolves when it is gone. */
  kill(): Promise<void>;
}

export function spawnSimulatedClaudeCli(config: SimulatedCliProcessConfig): SimulatedCliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', GUARD, MAIN, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  if (child.pid === undefined) throw new Error('the simulated Claude CLI did not start');
  let stdout = '';
  let stderr = '';
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    child.once('exit', () => reject(new Error(`simulated Claude CLI exited before it was ready; stderr: ${stderr.slice(0, 2000)}`)));
  });
  ready.catch(() => undefined);
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    if (stdout.includes('ready\n')) readyResolve();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const result = exited.then(() => {
    const line = stdout.split('\n').find((l) => l.startsWith('result '));
    if (line === undefined) throw new Error(`simulated Claude CLI exited without a result; stderr: ${stderr.slice(0, 2000)}`);
    return JSON.parse(line.slice('result '.length)) as SimulatedClaudeCliReport;
  });
  // An unobserved rejection (a killed child) must not fail the test run.
  result.catch(() => undefined);
  return {
    child,
    pid: child.pid,
    ready,
    result,
    stop: () => {
      child.kill('SIGTERM');
      return result;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
