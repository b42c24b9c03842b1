import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertNoLeaks } from './leak-check.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const ENTRYPOINT = fileURLToPath(new URL('../../src/entrypoint.ts', import.meta.url));
export const GUARD = fileURLToPath(new URL('./loopback-guard.mjs', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to a minimal environment (PATH, HOME from the test, guard log); nothing else leaks in. */
  readonly env?: Record<string, string | undefined>;
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Called once the process has started, e.g. to send it signals. */
  readonly onSpawn?: (child: ChildProcess) => void;
  /** Extra node flags, e.g. `--import` of a module-hiding hook. */
  readonly nodeArgs?: readonly string[];
}

export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CLAUDE_CREDS_GUARD_LOG: process.env.CLAUDE_CREDS_GUARD_LOG,
    CLAUDE_CREDS_LOG_FORMAT: 'json',
  };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

export interface ProcessOptions extends CliOptions {
  /** Run as this user (needs root): how tests meet EACCES, which root never sees. */
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Runs `command` to completion in its own process group under a minimal environment (see cliEnv),
 * kills the whole group on timeout (an orphan would hold our pipes open), and fails when anything it
 * printed holds a fake token: the suite-wide leak check. `label` names it in that failure.
 */
export function runProcess(command: string, argv: readonly string[], label: string, options: ProcessOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: options.cwd ?? root,
      env: cliEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        assertNoLeaks(`stdout of ${label}`, stdout);
        assertNoLeaks(`stderr of ${label}`, stderr);
      } catch (error) {
        reject(error);
        return;
      }
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a command that never reads its stdin
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
    options.onSpawn?.(child);
  });
}

/** Runs the real CLI (the TypeScript entry through tsx) as a separate process under the loopback guard. */
export function runCli(args: readonly string[], options: ProcessOptions = {}): Promise<CliResult> {
  const argv = ['--import', 'tsx', '--import', GUARD, ...(options.nodeArgs ?? []), ENTRYPOINT, ...args];
  return runProcess(process.execPath, argv, `claude-creds ${args.join(' ')}`, options);
}

/** The JSON log lines a run printed on stderr. */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The line a failed run ends with, in either log format: the message, and with JSON logs its exit code and error type. */
export interface FatalLine {
  readonly format: 'json' | 'text';
  readonly msg: string;
  readonly exitCode?: number;
  readonly errorType?: string;
}

/**
 * The fatal lines on stderr: JSON lines at level 60 that carry an exitCode (the pino-shaped line of the
 * one catch), or `claude-creds: ...` lines of the text form. The dry-run report is not one.
 */
export function fatalLines(stderr: string): FatalLine[] {
  return stderr.split('\n').flatMap((line): FatalLine[] => {
    if (line.startsWith('{')) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return [];
      }
      if (parsed.level !== 60 || typeof parsed.exitCode !== 'number') return [];
      return [{ format: 'json', msg: String(parsed.msg), exitCode: parsed.exitCode, errorType: String(parsed.errorType) }];
    }
    if (line.startsWith('claude-creds: ') && !line.startsWith('claude-creds: dry run: ')) return [{ format: 'text', msg: line.slice('claude-creds: '.length) }];
    return [];
  });
}

/** The message of the fatal line(s) on stderr, '' when there is none: what assertions on an error's wording read. */
export function fatalMessage(stderr: string): string {
  return fatalLines(stderr)
    .map((line) => line.msg)
    .join('\n');
}
