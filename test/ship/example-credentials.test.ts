/**
 * What the examples hand claude-creds to open its store (issue 16): every claude-creds on AWS has
 * credentials to run with (3-sidecar-scaled had none), and no manifest ships a placeholder Secret under
 * the name of the user's real credentials Secret (applying secret-file-provider.yaml overwrote it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { asArray, ecsFiles, interpolate, isClaudeCredsImage, isObject, kubernetesFiles, markdownFiles, type JsonObject } from './example-files.js';
import { allContainers, documentsOf, exampleFiles, flagValue, invocationOf, nameOf, providerOf } from './example-containers.js';
import { ROOT } from './ship-support.js';

// --- AWS credentials ---

/** Where the targets of a Compose service's volumes and secrets are. */
function composeMountTargets(service: JsonObject): string[] {
  const volumes = asArray(service.volumes).map((volume) => (isObject(volume) ? String(volume.target ?? '') : (interpolate(String(volume)).split(':')[1] ?? '')));
  const secrets = asArray(service.secrets).map((secret) => (isObject(secret) ? String(secret.target ?? `/run/secrets/${String(secret.source)}`) : `/run/secrets/${String(secret)}`));
  return [...volumes, ...secrets].filter((target) => target !== '');
}

/** The AWS SDK's default chain in a Compose service: what it would find, or undefined when nothing. */
function composeAwsCredentialSource(service: JsonObject, env: Record<string, string>): string | undefined {
  if (env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined) return 'access keys passed through';
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI !== undefined || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI !== undefined) return 'a container credentials endpoint';
  const targets = composeMountTargets(service);
  const mounted = (path: string | undefined) => path !== undefined && targets.some((target) => path === target || path.startsWith(`${target}/`));
  if (mounted(env.AWS_SHARED_CREDENTIALS_FILE) || mounted(env.AWS_CONFIG_FILE)) return 'a mounted credentials file';
  if (env.AWS_ROLE_ARN !== undefined && mounted(env.AWS_WEB_IDENTITY_TOKEN_FILE)) return 'a mounted web identity token';
  // ~/.aws of the user the service runs as: root's with user 0, else the claude-creds image's `node`.
  const user = String(service.user ?? '');
  const home = user === '0' || user.startsWith('0:') || user === 'root' ? '/root' : isClaudeCredsImage(interpolate(String(service.image ?? ''))) ? '/home/node' : undefined;
  if (home !== undefined && targets.includes(`${home}/.aws`)) return `~/.aws mounted at ${home}/.aws`;
  return undefined;
}

const awsComposeServices = allContainers.filter((container) => container.kind === 'service').flatMap((container) => {
  const invocation = invocationOf(container);
  return invocation !== undefined && providerOf(invocation) === 'aws' ? [{ container, invocation }] : [];
});

describe('AWS credentials', () => {
  test('the examples run claude-creds on AWS in several Compose services (so the check below checks something)', () => {
    expect(awsComposeServices.map(({ container }) => container.where)).toEqual(
      expect.arrayContaining(['compose-examples/2-aws-init/compose.yaml service claude-creds', 'compose-examples/3-sidecar-scaled/compose.yaml service claude-creds']),
    );
  });

  test.each(awsComposeServices.map(({ container, invocation }) => [container.where, container, invocation] as const))(
    '%s has a source of AWS credentials (keys passed through, or ~/.aws mounted for its user)',
    (_where, container, invocation) => {
      expect(composeAwsCredentialSource(container.object, invocation.env)).toBeDefined();
    },
  );

  test.each([
    ['a region alone', { user: '0:0', volumes: ['claude-config:/claude'] }, { AWS_REGION: 'eu-west-1' }, undefined],
    ['~/.aws mounted where its user does not look', { image: 'claude-creds:0.1.0', volumes: ['${HOME}/.aws:/root/.aws:ro'] }, {}, undefined],
    ['~/.aws mounted for root', { user: '0:0', volumes: ['${HOME}/.aws:/root/.aws:ro'] }, { AWS_PROFILE: 'default' }, '~/.aws mounted at /root/.aws'],
    ['keys passed through', {}, { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_SESSION_TOKEN: 'z' }, 'access keys passed through'],
    ['a credentials file as a Compose secret', { secrets: ['aws'] }, { AWS_SHARED_CREDENTIALS_FILE: '/run/secrets/aws' }, 'a mounted credentials file'],
  ])('the check: %s', (_what, service, env, expected) => {
    expect(composeAwsCredentialSource(service as JsonObject, env as Record<string, string>)).toBe(expected);
  });

  test('every Kubernetes pod that runs claude-creds on AWS has a service account with an IAM role; the ECS task has a task role', () => {
    const pods = allContainers.filter((container) => container.pod !== undefined).filter((container) => {
      const invocation = invocationOf(container);
      return invocation !== undefined && providerOf(invocation) === 'aws';
    });
    expect(pods.length).toBeGreaterThanOrEqual(2);
    for (const container of pods) {
      const accountName = String(container.pod?.serviceAccountName ?? '');
      const account = documentsOf(container.file).find((document) => document.kind === 'ServiceAccount' && nameOf(document) === accountName);
      const annotations = isObject(account?.metadata) && isObject(account.metadata.annotations) ? account.metadata.annotations : {};
      expect(String(annotations['eks.amazonaws.com/role-arn'] ?? ''), container.where).toMatch(/^arn:aws:iam::\d{12}:role\//);
    }
    for (const file of ecsFiles) {
      const task = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as JsonObject;
      expect(String(task.taskRoleArn ?? ''), file).toMatch(/^arn:aws:iam::\d{12}:role\//);
    }
  });
});

// --- the credentials Secret ---

/** The names under which the manifests, the docs and the example comments refer to a Secret holding credentials. */
function referencedSecretNames(): Set<string> {
  const names = new Set<string>();
  for (const container of allContainers.filter((item) => item.pod !== undefined)) {
    for (const volume of asArray(container.pod?.volumes).filter(isObject)) {
      if (isObject(volume.secret)) names.add(String(volume.secret.secretName));
      if (isObject(volume.projected)) for (const source of asArray(volume.projected.sources).filter(isObject)) if (isObject(source.secret)) names.add(String(source.secret.name));
    }
    for (const entry of asArray(container.object.env).filter(isObject)) {
      if (isObject(entry.valueFrom) && isObject(entry.valueFrom.secretKeyRef)) names.add(String(entry.valueFrom.secretKeyRef.name));
    }
    const invocation = invocationOf(container);
    const secret = invocation === undefined || providerOf(invocation) !== 'kubernetes' ? undefined : flagValue(invocation, '--secret', '-s');
    if (secret !== undefined) names.add(secret.split('#')[0]?.split('/').at(-1) as string);
  }
  const texts = [...markdownFiles, ...exampleFiles].map((file) => readFileSync(join(ROOT, file), 'utf8'));
  for (const text of texts) {
    for (const match of text.matchAll(/kubectl create secret generic\s+([a-z0-9][a-z0-9.-]*)/g)) names.add(match[1] as string);
    for (const match of text.matchAll(/--provider kubernetes --secret (?:[a-z0-9-]+\/)?([a-z0-9][a-z0-9.-]*)/g)) names.add(match[1] as string);
  }
  return names;
}

describe('the credentials Secret', () => {
  test('no manifest ships a Secret under a name that a manifest or a documented command uses for the credentials (applying it would overwrite them)', () => {
    const referenced = referencedSecretNames();
    // The names the docs tell users to create are found, so a shipped Secret of that name cannot slip by.
    expect([...referenced]).toEqual(expect.arrayContaining(['claude-credentials']));
    const shipped = kubernetesFiles.flatMap((file) => documentsOf(file).filter((document) => document.kind === 'Secret').map((document) => `${file}: Secret ${nameOf(document)}`));
    const clashing = shipped.filter((entry) => {
      const name = entry.split(': Secret ')[1] as string;
      return referenced.has(name) && !/(^|-)example(-|$)/.test(name);
    });
    expect(clashing).toEqual([]);
  });
});
