/**
 * Runs the wrapped command as a child with our stdio, forwards the signals a container runtime sends,
 * and reports how it ended so the wrapper can exit with the same status (128+N for a signal, as shells do).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { spawnFailure } from './system-error-hints.js';

export const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

export interface ChildOutcome {
  readonly exitCode: number;
  readonly signal: NodeJS.Signals | undefined;
}

export interface RunOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Called with each signal forwarded, for the log. */
  readonly onSignal?: (signal: NodeJS.Signals) => void;
  /**
   * Descriptors the child inherits as fd 3, 4, ... (after its stdin/stdout/stderr). Ours are closed
   * once the child has its copies (or could not be started): the caller hands them over.
   */
  readonly extraFds?: readonly number[];
}

export function exitCodeFor(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : constants.signals[signal];
  return number === undefined ? 1 : 128 + number;
}

export function runChild(command: string, args: readonly string[], options: RunOptions): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    // Handlers go in before the child exists: a fast child can be told to stop (by whoever watches its
    // output) before spawn() even returns, and an unhandled SIGTERM would kill us and orphan it.
    const early: NodeJS.Signals[] = [];
    let child: ChildProcess | undefined;
    const forward = (signal: NodeJS.Signals): void => {
      options.onSignal?.(signal);
      if (!child) early.push(signal);
      else if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const detach = (): void => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    const extraFds = options.extraFds ?? [];
    try {
      child = spawn(command, args, { stdio: extraFds.length === 0 ? 'inherit' : ['inherit', 'inherit', 'inherit', ...extraFds], env: options.env });
    } finally {
      for (const fd of extraFds) closeSync(fd);
    }
    for (const signal of early.splice(0)) child.kill(signal);
    child.once('error', (error: NodeJS.ErrnoException) => {
      detach();
      reject(spawnFailure(command, error));
    });
    child.once('exit', (code, signal) => {
      detach();
      resolve({ exitCode: exitCodeFor(code, signal), signal: signal ?? undefined });
    });
  });
}
