/**
 * Runs the wrapped command as a child with our stdio, forwards the signals a container runtime sends,
 * and reports how it ended so the wrapper can exit with the same status (128+N for a signal, as shells do).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, openSync, readSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Owner } from '../core/config.js';
import { SpawnError } from '../core/errors.js';
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
  /** Run the command as this uid/gid, with no supplementary groups (needs root). */
  readonly user?: Owner | undefined;
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
      // uid/gid: libuv calls setgroups(0, NULL) before setgid/setuid, so no supplementary group stays.
      const user = options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid };
      child = spawn(command, args, { stdio: extraFds.length === 0 ? 'inherit' : ['inherit', 'inherit', 'inherit', ...extraFds], env: options.env, ...user });
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

type Execve = (file: string, args: readonly string[], env: Record<string, string>) => never;

/** process.execve (Node >= 22.15 on POSIX), or undefined where this runtime has none. */
function execveFunction(): Execve | undefined {
  const candidate = (process as { execve?: unknown }).execve;
  return typeof candidate === 'function' && process.platform !== 'win32' ? (candidate.bind(process) as Execve) : undefined;
}

export function canReplaceProcess(): boolean {
  return execveFunction() !== undefined;
}

/**
 * Replaces this process with the command (execve): nothing of claude-creds, and nothing it held in its
 * memory or initial environment, stays beside the command; signals reach it directly and its exit status
 * is its own. Drops to `user` first (groups, gid, uid: in that order, so none can be regained).
 *
 * Only returns when it did nothing: the executable is not a native program or a `#!` script (a shell
 * would run it through sh, which execve cannot), so the caller starts it as a child instead. A failed
 * execve aborts some Node versions outright, so everything it could fail on is checked first.
 */
export function replaceProcess(command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; user?: Owner | undefined }): 'not-replaced' {
  const execve = execveFunction();
  if (execve === undefined) return 'not-replaced';
  const file = resolveExecutable(command, options.env.PATH);
  if (!startsLikeAProgram(file)) return 'not-replaced';
  if (options.user !== undefined) {
    process.setgroups?.([]);
    process.setgid?.(options.user.gid);
    process.setuid?.(options.user.uid);
    // Root may run what the user may not; past this point there is no way back, so say it and exit.
    try {
      accessSync(file, fsConstants.X_OK);
    } catch {
      throw new SpawnError(`cannot run ${command}: ${file} is not executable for ${options.user.uid}:${options.user.gid}`, 126);
    }
  }
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  restoreBlockingStdio();
  return execve(file, [command, ...args], env);
}

/** PATH lookup as execvp does it: the first executable regular file; 127 when none, 126 when not runnable. */
export function resolveExecutable(command: string, path: string | undefined): string {
  const candidates = command.includes('/') ? [command] : (path ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((dir) => join(dir === '' ? '.' : dir, command));
  let denied: string | undefined;
  for (const candidate of candidates) {
    let isFile = false;
    try {
      isFile = statSync(candidate).isFile();
    } catch {
      continue;
    }
    if (!isFile) continue;
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      denied ??= candidate;
    }
  }
  if (denied !== undefined) throw new SpawnError(`cannot run ${command}: ${denied} is not executable`, 126);
  throw new SpawnError(`command not found: ${command}`, 127);
}

/** An ELF binary or a `#!` script; a file that cannot be read (execute-only) is taken to be a binary. */
function startsLikeAProgram(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, fsConstants.O_RDONLY);
    const head = Buffer.alloc(4);
    const length = readSync(fd, head, 0, 4, 0);
    return (length >= 2 && head[0] === 0x23 && head[1] === 0x21) || (length === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])));
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Node leaves a pipe on stdout or stderr in non-blocking mode, and that mode belongs to the open file,
 * so an exec'd command would inherit it and meet EAGAIN on a full pipe. Put it back before execve.
 */
function restoreBlockingStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const handle = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle;
    handle?.setBlocking?.(true);
  }
}
