/**
 * Drives the image from outside through the `podman` CLI, as an operator would with `docker`: every
 * container, volume and directory a check makes is recorded and removed at the end. Every run goes
 * through runProcess, so whatever a container prints is checked for leaked fake tokens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import packageJson from '../../package.json' with { type: 'json' };
import { runProcess, type CliResult } from '../support/cli.js';

/** The one tag the README, the examples and the manifests use: claude-creds:<package version>. */
export const IMAGE = `claude-creds:${packageJson.version}`;
export const NODE_MAJOR = process.env.CLAUDE_CREDS_IMAGE_NODE ?? '24';

export interface PodmanOptions {
  /** Variables for the podman process itself: `-e NAME` passes them into the container. */
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly timeoutMs?: number;
}

export function podman(args: readonly string[], options: PodmanOptions = {}): Promise<CliResult> {
  return runProcess('podman', args, `podman ${args.slice(0, 3).join(' ')}`, {
    env: { CONTAINERS_CONF: process.env.CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: process.env.CONTAINERS_STORAGE_CONF, ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** podman, failing the check with podman's own message when it exits non-zero. */
export async function podmanOk(args: readonly string[], options: PodmanOptions = {}): Promise<string> {
  const result = await podman(args, options);
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

/** Names of the containers and volumes a test file made, and scratch directories, removed by `cleanUp`. */
export class Resources {
  private readonly containers = new Set<string>();
  private readonly volumes = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly run = randomBytes(3).toString('hex');

  container(label: string): string {
    const name = `claude-creds-check-${this.run}-${label}`;
    this.containers.add(name);
    return name;
  }

  volume(label: string): string {
    const name = `claude-creds-check-${this.run}-${label}`;
    this.volumes.add(name);
    return name;
  }

  dir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'claude-creds-image-'));
    this.dirs.add(dir);
    return dir;
  }

  async cleanUp(): Promise<void> {
    if (this.containers.size > 0) await podman(['rm', '-f', '-t', '0', ...this.containers]);
    if (this.volumes.size > 0) await podman(['volume', 'rm', '-f', ...this.volumes]);
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** Where a named volume's data lives on the host (rootful Podman keeps it under its storage). */
export async function volumePath(volume: string): Promise<string> {
  return (await podmanOk(['volume', 'inspect', '--format', '{{.Mountpoint}}', volume])).trim();
}

/** Waits for `condition` (polled every 100 ms) up to `timeoutMs`; returns whether it held. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `podman healthcheck run`: 0 healthy, 1 unhealthy (the HEALTHCHECK command's own verdict). */
export async function healthcheck(container: string): Promise<{ code: number | null; output: string }> {
  const result = await podman(['healthcheck', 'run', container]);
  return { code: result.code, output: `${result.stdout}${result.stderr}`.trim() };
}
