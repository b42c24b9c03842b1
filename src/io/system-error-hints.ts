/**
 * System errors of the most common migration setups, in words that name the setup and its fix instead
 * of a raw errno:
 *
 * - EBUSY on rename: the target is a mount point, i.e. a single-file bind mount at .credentials.json
 *   (`-v ./creds.json:/home/node/.claude/.credentials.json`). A file mounted on its own cannot be
 *   replaced by rename, and the Claude CLI writes it by rename too: mount the directory.
 * - ENOENT (or EROFS) from mkdir under a read-only filesystem: a recursive mkdir reports the missing
 *   parent, not the read-only one, so the nearest existing ancestor is asked (access W_OK says EROFS).
 * - EACCES on spawn: the command is not executable, or is a directory.
 * - ENOENT on spawn of a file that exists: its #! interpreter is missing, which is not "not found".
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { EXIT, SpawnError } from '../core/errors.js';

type SystemError = NodeJS.ErrnoException & { readonly dest?: string };

function asSystemError(error: unknown): SystemError | undefined {
  return error instanceof Error && typeof (error as SystemError).code === 'string' ? (error as SystemError) : undefined;
}

/**
 * The same error with the paths a user gave: the race-safe writer works through `/proc/self/fd/N/...`
 * (the directory it holds open), which means nothing to someone reading the message.
 */
export function withUserPaths(error: unknown, internal: string, shown: string): unknown {
  const system = asSystemError(error);
  if (system === undefined) return error;
  const fix = (path: string | undefined): string | undefined => (path !== undefined && path.startsWith(internal) ? shown + path.slice(internal.length) : path);
  const copy = new Error(system.message) as SystemError;
  Object.assign(copy, { code: system.code, syscall: system.syscall, path: fix(system.path), dest: fix(system.dest) });
  return copy;
}

/** The nearest directory above `path` that exists, and whether it sits on a read-only filesystem. */
function readOnlyAncestor(path: string): string | undefined {
  let dir = path;
  while (!existsSync(dir)) {
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS' ? dir : undefined;
  }
}

/**
 * A message for a file-system error of the local write, or undefined when it is none of the known
 * setups (the caller's own errno wording then applies).
 */
export function fileSystemErrorHint(error: unknown): string | undefined {
  const system = asSystemError(error);
  if (system === undefined) return undefined;
  if (system.code === 'EBUSY' && system.syscall === 'rename') {
    const target = system.dest ?? 'the file';
    return (
      `${target} is busy: it is a mount point, i.e. a single file bind-mounted on its own, which cannot be replaced by rename ` +
      `(the Claude CLI writes it by rename too); mount its directory instead (-v DIR:${dirname(target)}, a volume or an emptyDir), not the file`
    );
  }
  if ((system.code === 'ENOENT' || system.code === 'EROFS') && system.syscall === 'mkdir' && system.path !== undefined) {
    const readOnly = readOnlyAncestor(system.path);
    if (readOnly !== undefined) {
      return `${readOnly} is on a read-only filesystem, so ${system.path} cannot be created there: mount a writable volume (an emptyDir) at the config directory, or point CLAUDE_CONFIG_DIR or --out at one`;
    }
  }
  return undefined;
}

/** The error for a wrapped command that could not be started: 127 when it is not there, 126 when it cannot run, as shells say. */
export function spawnFailure(command: string, error: NodeJS.ErrnoException): SpawnError {
  const hasPath = command.includes('/');
  if (error.code === 'ENOENT') {
    if (hasPath && existsSync(command)) {
      return new SpawnError(`cannot run ${command}: the interpreter on its #! line was not found`, EXIT.cannotExecute, { cause: error });
    }
    return new SpawnError(`command not found: ${command}`, EXIT.commandNotFound, { cause: error });
  }
  if (error.code === 'EACCES') {
    let what = 'it is not executable (chmod +x?) or it is a directory';
    try {
      if (hasPath) what = statSync(command).isDirectory() ? 'it is a directory' : 'it is not executable (chmod +x it?)';
    } catch {
      // keep the general wording
    }
    return new SpawnError(`cannot run ${command}: permission denied: ${what}`, EXIT.cannotExecute, { cause: error });
  }
  return new SpawnError(`cannot run ${command}: ${error.code ?? error.message}`, EXIT.cannotExecute, { cause: error });
}
