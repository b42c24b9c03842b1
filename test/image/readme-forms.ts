/**
 * The README's container section leads with three `docker run` lines: the init container, the
 * entrypoint and the sidecar. The image checks run exactly those lines through podman, changing only
 * what a test must (written out in `adapt`), so the README cannot drift from the image.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../ship/ship-support.js';
import { IMAGE } from './podman.js';

export const CONTAINER_SECTION = '## Container image';

export type FormName = 'init' | 'entrypoint' | 'sidecar';

export interface Form {
  readonly name: FormName;
  readonly line: string;
  /** The words after `docker`: `run`, its flags, the image, the claude-creds arguments. */
  readonly words: readonly string[];
}

/** Shell words of one line: single and double quotes, nothing else (the README's lines need no more). */
export function words(line: string): string[] {
  const found: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i] as string;
    if (char === "'" || char === '"') {
      const end = line.indexOf(char, i + 1);
      if (end === -1) throw new Error(`unclosed quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(char)) {
      if (word !== undefined) found.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (word !== undefined) found.push(word);
  return found;
}

/** The section's first sh block, and in it the `docker run` lines of the three forms. */
export function readmeForms(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): Form[] {
  const start = readme.indexOf(`\n${CONTAINER_SECTION}\n`);
  if (start === -1) throw new Error(`README has no "${CONTAINER_SECTION}" section`);
  const section = readme.slice(start + 1).split(/\n## /)[0] as string;
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error(`the "${CONTAINER_SECTION}" section has no sh block`);
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('docker run '))
    .map((line) => {
      const all = words(line).slice(1);
      const at = all.indexOf(IMAGE);
      if (at === -1) throw new Error(`not the image ${IMAGE}: ${line}`);
      const first = all[at + 1];
      const name: FormName | undefined = first === 'fetch' ? 'init' : first === '--' ? 'entrypoint' : first === 'sidecar' ? 'sidecar' : undefined;
      if (name === undefined) throw new Error(`neither fetch, -- nor sidecar after the image: ${line}`);
      return { name, line, words: all };
    });
}

export interface Adaptation {
  /** `--network host` (the AWS fake on the host's loopback) or `none`: no other network works here. */
  readonly network: 'host' | 'none';
  /** Named volumes and container names, each to a name of the test's own. */
  readonly rename?: Record<string, string>;
  /** `-e NAME=VALUE` values replaced (a free port instead of 8080). */
  readonly envValues?: Record<string, string>;
  /** Flags of the test's own, added after `run` (mounting the loopback guard). */
  readonly flags?: readonly string[];
  /** Added after the claude-creds arguments (`--endpoint` of the fake). */
  readonly append?: readonly string[];
}

/** The form's words for podman, with only the test's adaptations applied. */
export function adapt(form: Form, adaptation: Adaptation): string[] {
  const rename = adaptation.rename ?? {};
  const out: string[] = ['run', '--network', adaptation.network, ...(adaptation.flags ?? [])];
  const imageAt = form.words.indexOf(IMAGE);
  for (let i = 1; i < imageAt; i += 1) {
    const word = form.words[i] as string;
    const next = form.words[i + 1];
    if ((word === '-v' || word === '--volume') && next !== undefined) {
      const [source, ...rest] = next.split(':');
      out.push(word, [rename[source as string] ?? source, ...rest].join(':'));
      i += 1;
    } else if (word === '--name' && next !== undefined) {
      out.push(word, rename[next] ?? next);
      i += 1;
    } else if ((word === '-e' || word === '--env') && next !== undefined) {
      const key = next.split('=')[0] as string;
      out.push(word, next.includes('=') && adaptation.envValues?.[key] !== undefined ? `${key}=${adaptation.envValues[key]}` : next);
      i += 1;
    } else {
      out.push(word);
    }
  }
  return [...out, ...form.words.slice(imageAt), ...(adaptation.append ?? [])];
}
