/**
 * The containers of the example files (Compose services, Kubernetes pods, ECS containers) with what each
 * actually runs (the example worker image's own ENTRYPOINT and CMD where a file gives none), and how to
 * read a claude-creds invocation: its flags (or their variables), its provider, its command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  asArray,
  asStrings,
  composeFiles,
  composeInvocations,
  ecsFiles,
  ecsInvocations,
  interpolate,
  isClaudeCreds,
  isObject,
  kubernetesFiles,
  kubernetesInvocations,
  loadYaml,
  podSpecOf,
  type Invocation,
  type JsonObject,
} from './example-files.js';
import { ROOT } from './ship-support.js';

export const documentsOf = (file: string): JsonObject[] => loadYaml(file).filter((document) => document !== null);
const servicesOf = (document: JsonObject): Array<[string, JsonObject]> =>
  Object.entries(isObject(document.services) ? document.services : {}).filter((entry): entry is [string, JsonObject] => isObject(entry[1]));
export const nameOf = (document: JsonObject): string => String(isObject(document.metadata) ? document.metadata.name : '');

/** The claude-creds arguments before `--` (what follows is the command it runs). */
const ownArgs = (args: readonly string[]): readonly string[] => (args.includes('--') ? args.slice(0, args.indexOf('--')) : args);
/** The variable that sets a flag: CLAUDE_CREDS_ and the flag in capitals. */
const variableOf = (flag: string): string => `CLAUDE_CREDS_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;

/** A flag's value in an invocation: `--flag value`, `--flag=value` (or the short form), else its variable. */
export function flagValue(invocation: Invocation, flag: string, short?: string): string | undefined {
  const args = ownArgs(invocation.args);
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i] as string;
    if (word === flag || (short !== undefined && word === short)) return args[i + 1];
    if (word.startsWith(`${flag}=`)) return word.slice(flag.length + 1);
  }
  return invocation.env[variableOf(flag)];
}

export const hasSwitch = (invocation: Invocation, flag: string): boolean =>
  ownArgs(invocation.args).includes(flag) || ['1', 'true'].includes(String(invocation.env[variableOf(flag)]).toLowerCase());

/** The provider an invocation uses: --provider, or what an AWS secret ARN implies. */
export function providerOf(invocation: Invocation): string | undefined {
  const provider = flagValue(invocation, '--provider', '-p');
  if (provider !== undefined) return provider;
  return flagValue(invocation, '--secret', '-s')?.startsWith('arn:aws:secretsmanager:') ? 'aws' : undefined;
}

/** The claude-creds command an invocation runs: fetch, sidecar, run (also the bare `-- CMD` form), push... */
export function commandOf(invocation: Invocation): string {
  const first = invocation.args[0] ?? '';
  return first.startsWith('-') ? 'run' : first;
}

/** fetch, run and sidecar write the credentials file the worker's CLI reads. */
export const writesTheFile = (invocation: Invocation): boolean => ['fetch', 'run', 'sidecar'].includes(commandOf(invocation));

// --- the worker image of the examples (compose-examples/worker.Dockerfile): its ENTRYPOINT and CMD ---

const WORKER_IMAGE = 'my-claude-worker';
const workerDockerfile = readFileSync(join(ROOT, 'compose-examples', 'worker.Dockerfile'), 'utf8');
const dockerfileArray = (instruction: string): string[] => {
  const match = new RegExp(`^${instruction} (\\[.*\\])$`, 'm').exec(workerDockerfile);
  return match ? (JSON.parse(match[1] as string) as string[]) : [];
};
const WORKER_ENTRYPOINT = dockerfileArray('ENTRYPOINT');
const WORKER_CMD = dockerfileArray('CMD');

/** The examples' worker image: the Claude CLI installed (worker.Dockerfile), and claude-creds copied in. */
export const isWorkerImage = (image: string): boolean => image.split('/').at(-1)?.split(':')[0] === WORKER_IMAGE;

/** What a container runs, with the example worker image's own ENTRYPOINT and CMD where it gives none. */
function effectiveWords(image: string, entrypoint: string[] | undefined, command: string[] | undefined): string[] {
  const isWorker = isWorkerImage(image);
  const first = entrypoint ?? (isWorker ? WORKER_ENTRYPOINT : []);
  const rest = command ?? (entrypoint === undefined && isWorker ? WORKER_CMD : []);
  return [...first, ...rest];
}

const words = (value: unknown): string[] | undefined =>
  value === undefined || value === null ? undefined : typeof value === 'string' ? value.split(/\s+/) : asStrings(value as never);

/** A shell script's text without its comments. */
const withoutComments = (script: string): string => script.replace(/(^|\s)#.*$/gm, '$1');
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash']);
const basename = (word: string): string => word.split('/').at(-1) ?? word;

/** The command a container ends up running: after the claude-creds wrapper's `--`, when it is wrapped. */
function commandWords(all: readonly string[]): readonly string[] {
  const at = all.findIndex(isClaudeCreds);
  if (at === -1) return all;
  const rest = all.slice(at + 1);
  return rest.includes('--') ? rest.slice(rest.indexOf('--') + 1) : [];
}

/** Whether a container's words run the Claude CLI (directly, through the wrapper, or in a shell script). */
export function runsClaudeCli(all: readonly string[]): boolean {
  const command = commandWords(all);
  const [first = '', second, script = ''] = command;
  if (basename(first) === 'claude') return true;
  return SHELLS.has(basename(first)) && second === '-c' && /(^|[\s;&|(])claude(\s|$)/.test(withoutComments(script));
}

/** Whether a container's words run one `claude -p` and end: a print-mode CLI, not inside a loop. */
export function isOneShotClaude(all: readonly string[]): boolean {
  const command = commandWords(all);
  const [first = '', second, script = ''] = command;
  const printMode = (rest: readonly string[]) => rest.some((word) => word === '-p' || word === '--print');
  if (basename(first) === 'claude') return printMode(command.slice(1));
  if (!SHELLS.has(basename(first)) || second !== '-c') return false;
  const code = withoutComments(script);
  const prints = /(^|[\s;&|(])claude(?:[ \t]+[^\s;&|]+)*?[ \t]+(?:-p|--print)(?=\s|$)/m.test(code);
  const loops = /\b(while|until|for)\b[\s\S]*\bdo\b/.test(code);
  return prints && !loops;
}

// --- what the files hold ---

export interface Container {
  readonly where: string;
  readonly file: string;
  readonly kind: string;
  readonly image: string;
  readonly words: string[];
  readonly object: JsonObject;
  readonly pod?: JsonObject;
  readonly document: JsonObject;
}

function kubernetesContainers(file: string): Container[] {
  return documentsOf(file).flatMap((document) => {
    const pod = podSpecOf(document);
    if (!pod) return [];
    return [...asArray(pod.initContainers), ...asArray(pod.containers)].filter(isObject).map((container) => ({
      where: `${file} ${String(document.kind)}/${nameOf(document)} container ${String(container.name)}`,
      file,
      kind: String(document.kind),
      image: String(container.image ?? ''),
      words: effectiveWords(String(container.image ?? ''), words(container.command), words(container.args)),
      object: container,
      pod,
      document,
    }));
  });
}

function composeContainers(file: string): Container[] {
  return documentsOf(file).flatMap((document) =>
    servicesOf(document).map(([name, service]) => {
      const interpolated = (value: unknown) => words(value)?.map(interpolate);
      return {
        where: `${file} service ${name}`,
        file,
        kind: 'service',
        image: interpolate(String(service.image ?? '')),
        words: effectiveWords(interpolate(String(service.image ?? '')), interpolated(service.entrypoint), interpolated(service.command)),
        object: service,
        document,
      };
    }),
  );
}

function ecsContainers(file: string): Container[] {
  const task = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as JsonObject;
  return asArray(task.containerDefinitions)
    .filter(isObject)
    .map((container) => ({
      where: `${file} container ${String(container.name)}`,
      file,
      kind: 'task',
      image: String(container.image ?? ''),
      words: effectiveWords(String(container.image ?? ''), words(container.entryPoint), words(container.command)),
      object: container,
      document: task,
    }));
}

/** The claude-creds invocation of one container (its own document reduced to it), if it runs one. */
export function invocationOf(container: Container): Invocation | undefined {
  if (container.kind === 'service') {
    const name = container.where.split(' service ')[1] as string;
    return composeInvocations(container.file, { services: { [name]: container.object } })[0];
  }
  if (container.kind === 'task') return ecsInvocations(container.file, { containerDefinitions: [container.object] })[0];
  const pod = { ...(container.pod as JsonObject), initContainers: [], containers: [container.object] };
  return kubernetesInvocations(container.file, { spec: { template: { spec: pod } } })[0];
}

export const exampleFiles = [...composeFiles, ...kubernetesFiles, ...ecsFiles];
export const containersOf = (file: string): Container[] =>
  file.startsWith('compose-examples/') ? composeContainers(file) : file.startsWith('deploy/ecs/') ? ecsContainers(file) : kubernetesContainers(file);
export const allContainers = exampleFiles.flatMap(containersOf);
