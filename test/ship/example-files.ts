/**
 * The example files (Compose, Kubernetes, ECS) and the Markdown docs, read the way the shipping tests
 * need them: parsed documents, the `claude-creds` command lines in them with the environment each would
 * run with, and the shell blocks of the README and docs/*.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './ship-support.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
export const asArray = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : []);
export const asStrings = (value: Json | undefined): string[] => asArray(value).map(String);

export function filesUnder(dir: string, suffixes: readonly string[]): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => suffixes.some((suffix) => name.endsWith(suffix)))
    .map((name) => join(dir, name))
    .sort();
}

export const composeFiles = filesUnder('compose-examples', ['.yaml', '.yml']);
export const kubernetesFiles = filesUnder('deploy/kubernetes', ['.yaml', '.yml']);
export const ecsFiles = filesUnder('deploy/ecs', ['.json']);

export function loadYaml(file: string): JsonObject[] {
  const documents = parseAllDocuments(readFileSync(join(ROOT, file), 'utf8'));
  if (!Array.isArray(documents)) throw new Error(`${file}: not a YAML stream`);
  return documents.map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
    return document.toJS() as JsonObject;
  });
}

/** One `claude-creds` invocation found in a file: its arguments and the environment it would run with. */
export interface Invocation {
  readonly where: string;
  readonly args: string[];
  readonly env: Record<string, string>;
}

export const isClaudeCreds = (word: string) => word === 'claude-creds' || word.endsWith('/claude-creds.mjs');
export const isClaudeCredsImage = (image: string) => /(^|\/)claude-creds(:|@|$)/.test(image.replace(/^\$\{[^}]*:-([^}]*)\}$/, '$1'));

/**
 * The CLI arguments of a container: for the claude-creds image its command (the image's ENTRYPOINT is
 * claude-creds); for any other image whatever follows the bundle in its entrypoint + command.
 */
export function containerArgs(image: string, entrypoint: string[], command: string[]): string[] | undefined {
  if (isClaudeCredsImage(image) && entrypoint.length === 0) return command;
  const words = [...entrypoint, ...command];
  const at = words.findIndex(isClaudeCreds);
  return at === -1 ? undefined : words.slice(at + 1);
}

/** Compose variable interpolation, with a stand-in for values the user must provide. */
export function interpolate(text: string): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (match, name: string | undefined, op: string | undefined, word: string | undefined) => {
    if (match === '$$') return '$';
    if (op === ':-' || op === '-') return word ?? '';
    return `example-${(name ?? '').toLowerCase()}`;
  });
}

export function composeInvocations(file: string, document: JsonObject): Invocation[] {
  const found: Invocation[] = [];
  for (const [name, service] of Object.entries(isObject(document.services) ? document.services : {})) {
    if (!isObject(service)) continue;
    const words = (value: Json | undefined) => (typeof value === 'string' ? value.split(/\s+/) : asStrings(value)).map(interpolate);
    const args = containerArgs(interpolate(String(service.image ?? '')), words(service.entrypoint), words(service.command));
    if (args === undefined) continue;
    const env: Record<string, string> = {};
    if (isObject(service.environment)) for (const [key, value] of Object.entries(service.environment)) env[key] = interpolate(String(value ?? ''));
    for (const entry of asStrings(Array.isArray(service.environment) ? service.environment : [])) {
      const [key, ...rest] = entry.split('=');
      env[key as string] = interpolate(rest.join('='));
    }
    found.push({ where: `${file} service ${name}`, args, env });
  }
  return found;
}

export function kubernetesInvocations(file: string, document: JsonObject): Invocation[] {
  const spec = isObject(document.spec) && isObject(document.spec.template) && isObject(document.spec.template.spec) ? document.spec.template.spec : undefined;
  if (!spec) return [];
  return [...asArray(spec.initContainers), ...asArray(spec.containers)].filter(isObject).flatMap((container) => {
    const args = containerArgs(String(container.image ?? ''), asStrings(container.command), asStrings(container.args));
    if (args === undefined) return [];
    const env: Record<string, string> = {};
    for (const entry of asArray(container.env).filter(isObject)) env[String(entry.name)] = String(entry.value ?? `example-${String(entry.name).toLowerCase()}`);
    return [{ where: `${file} container ${String(container.name)}`, args, env }];
  });
}

export function ecsInvocations(file: string, task: JsonObject): Invocation[] {
  return asArray(task.containerDefinitions)
    .filter(isObject)
    .flatMap((container) => {
      const args = containerArgs(String(container.image ?? ''), asStrings(container.entryPoint), asStrings(container.command));
      if (args === undefined) return [];
      const env = Object.fromEntries(asArray(container.environment).filter(isObject).map((entry) => [String(entry.name), String(entry.value)]));
      return [{ where: `${file} container ${String(container.name)}`, args, env }];
    });
}

/** Shell words of one command line: quotes, `$(...)` kept inside a word, operators as their own words. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i] as string;
    if (char === "'" || char === '"') {
      const end = line.indexOf(char, i + 1);
      word += line.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? line.length : end;
      inWord = true;
    } else if (char === '$' && line[i + 1] === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < line.length; j += 1) {
        if (line[j] === '(') depth += 1;
        if (line[j] === ')' && --depth === 0) break;
      }
      word += line.slice(i, j + 1);
      i = j;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (char === '#' && !inWord) {
      break;
    } else if ('&|;'.includes(char)) {
      if (inWord) words.push(word);
      const operator = line[i + 1] === char ? char + char : char;
      words.push(operator);
      i += operator.length - 1;
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** `claude-creds` invocations in shell text (README code blocks, --help examples), with inline and exported variables. */
export function shellInvocations(where: string, text: string): Invocation[] {
  const found: Invocation[] = [];
  const exported: Record<string, string> = {};
  for (const rawLine of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = rawLine.trim().replace(/^\$ /, '');
    const segments: string[][] = [[]];
    for (const word of shellWords(line)) {
      if (['&&', '||', '|', ';'].includes(word)) segments.push([]);
      else segments.at(-1)?.push(word);
    }
    for (const words of segments) {
      const env: Record<string, string> = { ...exported };
      if (words[0] === 'export') {
        for (const assignment of words.slice(1)) exported[assignment.split('=')[0] as string] = assignment.slice(assignment.indexOf('=') + 1);
        continue;
      }
      while (words[0] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
        const assignment = words.shift() as string;
        env[assignment.split('=')[0] as string] = assignment.slice(assignment.indexOf('=') + 1);
      }
      if (words[0] !== undefined && isClaudeCreds(words[0])) {
        found.push({ where: `${where}: ${line}`, args: words.slice(1), env });
      } else if (words[0] === 'docker' && words[1] === 'run') {
        // docker run [flags] IMAGE ARGS...: the image's entrypoint is claude-creds.
        const rest = words.slice(2);
        for (let i = 0; i < rest.length; i += 1) {
          const word = rest[i] as string;
          if (word === '-e' || word === '--env') {
            const value = rest[(i += 1)] ?? '';
            env[value.split('=')[0] as string] = value.includes('=') ? value.slice(value.indexOf('=') + 1) : 'example-passed-through';
          } else if (['-v', '--volume', '--user', '-u', '--name', '--network', '-p', '--publish', '--entrypoint'].includes(word)) {
            i += 1;
          } else if (!word.startsWith('-')) {
            found.push({ where: `${where}: ${line}`, args: rest.slice(i + 1), env });
            break;
          }
        }
      }
    }
  }
  return found;
}

/** The README and every page under docs/, as paths relative to the repository. */
export const markdownFiles = ['README.md', ...filesUnder('docs', ['.md'])];

/** The bodies of a Markdown file's fenced code blocks in one language (```sh, ```yaml...). */
export function markdownBlocks(file: string, language: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1] as string);
}

/** The README's fenced code blocks in one language. */
export const readmeBlocks = (language: string): string[] => markdownBlocks('README.md', language);

/** The `claude-creds` command lines in the sh blocks of the README and of every docs/ page. */
export function markdownInvocations(files: readonly string[] = markdownFiles): Invocation[] {
  return files.flatMap((file) => markdownBlocks(file, 'sh').flatMap((block, index) => shellInvocations(`${file} sh block ${index + 1}`, block)));
}

/** The pod template of a workload (Deployment, Job...), or undefined for any other object. */
export function podSpecOf(document: JsonObject): JsonObject | undefined {
  return isObject(document.spec) && isObject(document.spec.template) && isObject(document.spec.template.spec) ? document.spec.template.spec : undefined;
}
