/**
 * One image tag, claude-creds:<package version>, everywhere the image is named: the README's and the
 * Dockerfiles' commands, every Compose service, Kubernetes container and ECS container, and the
 * worker image's COPY --from. A bare `claude-creds` (an implicit :latest) or another tag fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { ROOT } from './ship-support.js';

const TAG = `claude-creds:${packageJson.version}`;

/** The image's own name: the last path component of a reference, without its tag or digest. */
const nameOf = (reference: string) => (reference.split('/').at(-1) as string).split(/[:@]/)[0];
/** `${VAR:-default}` (Compose) to its default. */
const withDefault = (reference: string) => reference.replace(/^\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}$/, '$1');
/** The reference with any registry path before the image's own name dropped. */
const local = (reference: string) => reference.split('/').at(-1) as string;

function filesUnder(dir: string, suffixes: readonly string[]): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => suffixes.some((suffix) => name.endsWith(suffix)))
    .map((name) => join(dir, name))
    .sort();
}

/** Every value of an `image` key anywhere in a parsed document (Compose services, pod specs, ECS containers). */
function imageFields(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) imageFields(item, found);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'image' && typeof value === 'string') found.push(value);
      else imageFields(value, found);
    }
  }
  return found;
}

const VALUED_RUN_FLAGS = new Set(['-e', '--env', '-v', '--volume', '-u', '--user', '--name', '--network', '-p', '--publish', '--entrypoint', '-w', '--workdir', '--env-file', '--mount', '--group-add']);

/**
 * Image references in shell text (code blocks, inline code, comments): `docker|podman build -t X`,
 * the image word of `docker|podman run ...`, and `COPY --from=X`.
 */
function shellImageReferences(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/\b(?:docker|podman) build\b([^\n`]*)/g)) {
    const words = (match[1] as string).trim().split(/\s+/);
    words.forEach((word, i) => {
      if ((word === '-t' || word === '--tag') && words[i + 1] !== undefined) found.push(words[i + 1] as string);
    });
  }
  for (const match of text.matchAll(/\b(?:docker|podman) run\b([^\n`]*)/g)) {
    const words = (match[1] as string).trim().split(/\s+/);
    for (let i = 0; i < words.length; i += 1) {
      const word = words[i] as string;
      if (VALUED_RUN_FLAGS.has(word)) i += 1;
      else if (!word.startsWith('-') && word !== '...') {
        found.push(word);
        break;
      }
    }
  }
  for (const match of text.matchAll(/COPY --from=(\S+)/g)) found.push(match[1] as string);
  return found;
}

describe(`one image tag, ${TAG}`, () => {
  let counted = 0;
  const structured = [
    ...filesUnder('compose-examples', ['.yaml', '.yml']),
    ...filesUnder('deploy/kubernetes', ['.yaml', '.yml']),
    ...filesUnder('deploy/ecs', ['.json']),
  ];

  test.each(structured)('%s names the image by that tag', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const documents = file.endsWith('.json') ? [JSON.parse(text) as unknown] : parseAllDocuments(text).map((document) => document.toJS() as unknown);
    const references = documents.flatMap((document) => imageFields(document)).map(withDefault).filter((reference) => nameOf(reference) === 'claude-creds');
    // Examples 1 and 6 run the bundle inside the worker's own image; every manifest and task names ours.
    if (file.startsWith('deploy/')) expect(references.length, `${file} names no claude-creds image`).toBeGreaterThan(0);
    for (const reference of references) expect(local(reference), `${file}: ${reference}`).toBe(TAG);
    counted += references.length;
  });

  test('those files name the image 9 times or more in all (init services, sidecars, manifests, the task)', () => {
    expect(counted).toBeGreaterThanOrEqual(9);
  });

  test.each(['README.md', 'Dockerfile', 'compose-examples/worker.Dockerfile'])('%s: every command that names the image uses that tag', (file) => {
    const references = shellImageReferences(readFileSync(join(ROOT, file), 'utf8')).filter((reference) => nameOf(reference) === 'claude-creds');
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) expect(reference, file).toBe(TAG);
  });

  test('the README builds the image under that tag', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(`docker build -t ${TAG} .`);
  });

  test('the extraction finds what it should (so an empty result cannot pass silently)', () => {
    const text = [
      'docker build -t claude-creds .',
      '`docker run --rm -e A -v claude:/claude --user 0 ... claude-creds:9.9 fetch`',
      '#   docker run -d --name x -p 8080:8080 registry.example/claude-creds sidecar',
      'COPY --from=claude-creds /opt/claude-creds /opt/claude-creds',
      'podman run --rm my-claude-worker:latest claude -p hi',
    ].join('\n');
    expect(shellImageReferences(text)).toEqual(['claude-creds', 'claude-creds:9.9', 'registry.example/claude-creds', 'my-claude-worker:latest', 'claude-creds']);
    expect(withDefault('${CLAUDE_CREDS_IMAGE:-claude-creds:1.2.3}')).toBe('claude-creds:1.2.3');
    expect(nameOf('111122223333.dkr.ecr.eu-west-1.amazonaws.com/claude-creds:0.1.0')).toBe('claude-creds');
  });
});
