/**
 * What the example workloads run (issue 16): no Deployment runs a one-shot `claude -p` (Kubernetes would
 * restart it forever) and one-shot work has a Job; there is a native sidecar for each cloud (EKS was
 * missing) with probes on its health port; sidecars of several replicas refresh in one place and hand out
 * access-only copies; and every step that writes the file a headless Claude CLI reads seeds its onboarding.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { asArray, isObject, kubernetesFiles, markdownInvocations, type Invocation, type JsonObject } from './example-files.js';
import {
  allContainers,
  commandOf,
  containersOf,
  exampleFiles,
  flagValue,
  hasSwitch,
  invocationOf,
  isOneShotClaude,
  isWorkerImage,
  providerOf,
  runsClaudeCli,
  writesTheFile,
  type Container,
} from './example-containers.js';
import { ROOT } from './ship-support.js';

// --- long-running workloads ---

const LONG_RUNNING = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);
const workloadContainers = allContainers.filter((container) => LONG_RUNNING.has(container.kind) && asArray(container.pod?.containers).includes(container.object));

describe('long-running workloads', () => {
  test.each([
    [['claude', '-p', 'Say hello'], true],
    [['claude', '--print', 'x'], true],
    [['node', '/opt/claude-creds/claude-creds.mjs', '--seed-onboarding', '--', 'claude', '-p', 'x'], true],
    [['sh', '-c', 'cd /work && claude -p "x" > out'], true],
    [['sh', '-c', 'while true; do claude -p "$(next-task)"; done'], false],
    [['sh', '-c', "trap 'exit 0' TERM\nwhile true; do\n  # claude -p here\n  sleep 60 & wait $!\ndone"], false],
    [['claude'], false],
    [['python', 'worker.py'], false],
  ])('the one-shot check: %j is one-shot: %s', (command, oneShot) => {
    expect(isOneShotClaude(command)).toBe(oneShot);
  });

  test('the manifests have Deployments with workers to check', () => {
    expect(workloadContainers.length).toBeGreaterThanOrEqual(kubernetesFiles.length - 1);
  });

  test.each(workloadContainers.map((container) => [container.where, container] as const))(
    '%s is long-running, not a one-shot `claude -p` (a Deployment would restart it forever)',
    (_where, container) => {
      expect(isOneShotClaude(container.words), container.words.join(' ')).toBe(false);
    },
  );

  test('one-shot work has an example of its own: a Job whose worker runs `claude -p` once', () => {
    const jobs = allContainers.filter((container) => container.kind === 'Job' && isOneShotClaude(container.words));
    expect(jobs.map((container) => container.where)).not.toEqual([]);
    for (const job of jobs) expect(['Never', 'OnFailure']).toContain(String(job.pod?.restartPolicy));
  });
});

// --- native sidecars ---

interface Sidecar {
  readonly container: Container;
  readonly invocation: Invocation;
}

const nativeSidecars: Sidecar[] = allContainers.flatMap((container) => {
  if (container.pod === undefined || container.object.restartPolicy !== 'Always' || !asArray(container.pod.initContainers).includes(container.object)) return [];
  const invocation = invocationOf(container);
  return invocation !== undefined && commandOf(invocation) === 'sidecar' ? [{ container, invocation }] : [];
});

/** Whether a probe asks `path` on the sidecar's health port (by number, or by the name of a port that is it). */
function probesHealthPort(sidecar: Sidecar, probe: string, path: string): boolean {
  const spec = sidecar.container.object[probe];
  const get = isObject(spec) && isObject(spec.httpGet) ? spec.httpGet : undefined;
  const port = Number(flagValue(sidecar.invocation, '--health-port') ?? Number.NaN);
  if (get === undefined || get.path !== path || Number.isNaN(port)) return false;
  if (Number(get.port) === port) return true;
  return asArray(sidecar.container.object.ports).filter(isObject).some((entry) => entry.name === get.port && Number(entry.containerPort) === port);
}

describe('native sidecars', () => {
  test.each(['aws', 'gcp', 'azure'])('there is a native sidecar manifest for %s, with startup and readiness probes on /readyz and a liveness probe on /healthz of its health port', (provider) => {
    const sidecars = nativeSidecars.filter((sidecar) => providerOf(sidecar.invocation) === provider);
    expect(sidecars.map((sidecar) => sidecar.container.where)).not.toEqual([]);
    for (const sidecar of sidecars) {
      expect(probesHealthPort(sidecar, 'startupProbe', '/readyz'), `${sidecar.container.where} startupProbe`).toBe(true);
      expect(probesHealthPort(sidecar, 'readinessProbe', '/readyz'), `${sidecar.container.where} readinessProbe`).toBe(true);
      expect(probesHealthPort(sidecar, 'livenessProbe', '/healthz'), `${sidecar.container.where} livenessProbe`).toBe(true);
    }
  });

  test('the EKS manifest runs several replicas on IRSA, and keeps the web identity token out of the worker container', () => {
    const file = 'deploy/kubernetes/native-sidecar-aws.yaml';
    const [sidecar] = nativeSidecars.filter((item) => item.container.file === file);
    expect(sidecar).toBeDefined();
    expect(providerOf(sidecar?.invocation as Invocation)).toBe('aws');
    expect(Number((sidecar?.container.document.spec as JsonObject).replicas)).toBeGreaterThan(1);
    const template = (sidecar?.container.document.spec as JsonObject).template as JsonObject;
    const annotations = (template.metadata as JsonObject).annotations as JsonObject;
    const workers = asArray(sidecar?.container.pod?.containers).filter(isObject).map((container) => String(container.name));
    expect(String(annotations['eks.amazonaws.com/skip-containers']).split(',')).toEqual(workers);
    expect(readFileSync(join(ROOT, file), 'utf8')).toMatch(/Pod Identity[\s\S]*create-pod-identity-association/);
  });

  test('every native sidecar of more than one replica refreshes for the fleet (--refresh-before 10m or more) and hands out access-only copies', () => {
    const fleets = nativeSidecars.filter((sidecar) => Number((sidecar.container.document.spec as JsonObject).replicas ?? 1) > 1);
    expect(fleets.length).toBeGreaterThanOrEqual(2);
    for (const sidecar of fleets) {
      const refreshBefore = flagValue(sidecar.invocation, '--refresh-before');
      expect(refreshBefore, sidecar.container.where).toBeDefined();
      expect(parseDuration(refreshBefore as string, '--refresh-before'), sidecar.container.where).toBeGreaterThanOrEqual(10 * 60_000);
      expect(flagValue(sidecar.invocation, '--worker-copy'), sidecar.container.where).toBe('access-only');
    }
  });
});

// --- onboarding ---

/** A container runs the Claude CLI when it calls it, or is the examples' worker image (whose job that is, whatever loop it runs). */
const runsTheCli = (container: Container): boolean => isWorkerImage(container.image) || runsClaudeCli(container.words);
const filesRunningTheCli = exampleFiles.filter((file) => containersOf(file).some(runsTheCli));

describe('--seed-onboarding', () => {
  test('every example runs the Claude CLI (so the check below checks them all)', () => {
    expect(filesRunningTheCli).toEqual(exampleFiles);
  });

  test.each(filesRunningTheCli)('%s: every claude-creds step that writes the file the Claude CLI reads seeds the onboarding', (file) => {
    const writers = containersOf(file).flatMap((container) => {
      const invocation = invocationOf(container);
      return invocation !== undefined && writesTheFile(invocation) ? [invocation] : [];
    });
    expect(writers.length).toBeGreaterThan(0);
    expect(writers.filter((invocation) => !hasSwitch(invocation, '--seed-onboarding')).map((invocation) => invocation.where)).toEqual([]);
  });

  test('every command line in the README and docs/ that wraps the Claude CLI seeds the onboarding', () => {
    const wrapping = markdownInvocations().filter((invocation) => writesTheFile(invocation) && runsClaudeCli(['claude-creds', ...invocation.args]));
    expect(wrapping.length).toBeGreaterThan(0);
    expect(wrapping.filter((invocation) => !hasSwitch(invocation, '--seed-onboarding')).map((invocation) => invocation.where)).toEqual([]);
  });
});
