/**
 * No Docker engine runs here, so the Dockerfile is checked by replaying it: its build stage's COPY lines
 * are copied out of the build context (honouring .dockerignore) into a scratch directory, `npm run build`
 * runs there, the runtime stage's COPY --from lines are copied into a second scratch "image root", and
 * the ENTRYPOINT and HEALTHCHECK are run from that root with plain node.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { startFakeAws } from '../fakes/aws-secrets-manager.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { ROOT, nodeModulesAbove, runBundle } from './ship-support.js';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: Instruction[];
}

/** Dockerfile lines into instructions: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const keyword = (match[1] as string).toUpperCase();
    const args = match[2] as string;
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ base: from?.[1] ?? args, name: from?.[2] ?? String(stages.length), instructions: [] });
    } else if (keyword !== 'ARG' || stages.length > 0) {
      stages.at(-1)?.instructions.push({ keyword, args });
    }
  }
  return stages;
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  readonly dest: string;
}

function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop() as string;
  return { from, sources: words, dest };
}

function argDefault(text: string, name: string): string | undefined {
  return new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(text)?.[1];
}

/** .dockerignore patterns as used here: top-level names and simple `*` globs. */
function ignoredBy(patterns: readonly string[], path: string): boolean {
  const top = path.split('/')[0] as string;
  return patterns.some((pattern) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(top));
}

const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfileText);
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const buildStage = stages.find((stage) => stage.name === 'build');
const runtimeStage = stages.at(-1) as Stage;
const jsonArgs = (stage: Stage, keyword: string): string[] => {
  const instruction = stage.instructions.filter((item) => item.keyword === keyword).at(-1);
  return instruction === undefined ? [] : (JSON.parse(instruction.args) as string[]);
};

let work: string;
let buildRoot: string;
let imageRoot: string;
let fake: RunningFake;

/** The runtime stage's ENTRYPOINT, with its script path mapped into the scratch image root. */
function entryScript(): string {
  const entrypoint = jsonArgs(runtimeStage, 'ENTRYPOINT');
  return join(imageRoot, entrypoint[entrypoint.indexOf('node') + 1] as string);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'claude-creds-docker-'));
  buildRoot = join(work, 'build-stage');
  imageRoot = join(work, 'runtime-stage');
  mkdirSync(buildRoot);
  mkdirSync(imageRoot);
  if (!buildStage) throw new Error('the Dockerfile has no stage named "build"');
  const workdir = buildStage.instructions.find((item) => item.keyword === 'WORKDIR')?.args ?? '/';
  for (const instruction of buildStage.instructions) {
    if (instruction.keyword === 'COPY') {
      const copy = parseCopy(instruction.args);
      for (const source of copy.sources) {
        if (ignoredBy(dockerignore, source)) throw new Error(`COPY ${source}: excluded by .dockerignore`);
        if (!existsSync(join(ROOT, source))) throw new Error(`COPY ${source}: not in the build context`);
        const whole = source === '.';
        const target = copy.dest.endsWith('/') && !whole ? join(buildRoot, copy.dest, posix.basename(source)) : join(buildRoot, copy.dest);
        cpSync(join(ROOT, source), target, {
          recursive: true,
          // What .dockerignore keeps out of the context is not there to copy.
          filter: (path) => path === ROOT || posix.relative(ROOT, path) === '' || !ignoredBy(dockerignore, posix.relative(ROOT, path)),
        });
      }
    } else if (instruction.keyword === 'RUN' && instruction.args.startsWith('npm ci')) {
      // The installed tree is the repository's own (same lockfile); the image installs it afresh.
      symlinkSync(join(ROOT, 'node_modules'), join(buildRoot, 'node_modules'));
    } else if (instruction.keyword === 'RUN' && instruction.args === 'npm run build') {
      const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: buildRoot, encoding: 'utf8' });
      if (built.status !== 0) throw new Error(`npm run build failed in the build stage:\n${built.stderr}`);
    }
  }
  for (const instruction of runtimeStage.instructions.filter((item) => item.keyword === 'COPY')) {
    const copy = parseCopy(instruction.args);
    if (copy.from !== 'build') throw new Error(`runtime COPY without --from=build: ${instruction.args}`);
    for (const source of copy.sources) {
      const inBuild = join(buildRoot, posix.relative(workdir, source));
      if (!existsSync(inBuild)) throw new Error(`COPY --from=build ${source}: not there after npm run build`);
      cpSync(inBuild, join(imageRoot, copy.dest), { recursive: true });
    }
  }
  fake = await startFakeAws();
});

afterAll(async () => {
  await fake?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the Dockerfile', () => {
  const tempDir = useTempDir();

  test('is multi-stage: a build stage, then a runtime stage, both Debian slim on the current Node LTS (24)', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['build', 'runtime']);
    expect(argDefault(dockerfileText, 'NODE_VERSION')).toBe('24');
    for (const stage of stages) expect(stage.base).toBe('node:${NODE_VERSION}-bookworm-slim');
  });

  test('has no `# syntax=` line: BuildKit would fetch a frontend image, which an offline or mirrored build cannot', () => {
    expect(dockerfileText).not.toMatch(/^#\s*syntax\s*=/im);
  });

  test('tini comes from Debian\'s package, and the runtime stage keeps no apt lists and no npm', () => {
    const runs = runtimeStage.instructions.filter((item) => item.keyword === 'RUN').map((item) => item.args);
    const install = runs.find((args) => /apt-get install\b.*\btini\b/.test(args)) ?? '';
    expect(install).toContain('apt-get update');
    expect(install).toContain('--no-install-recommends');
    expect(install).toContain('rm -rf /var/lib/apt/lists/*');
    expect(install).toMatch(/rm -rf \/usr\/local\/lib\/node_modules .*\/usr\/local\/bin\/npm /);
  });

  test('/claude, the default config directory, is made in the image and owned by its user (so a new named volume there is writable)', () => {
    const user = runtimeStage.instructions.filter((item) => item.keyword === 'USER').at(-1)?.args;
    const runs = runtimeStage.instructions.filter((item) => item.keyword === 'RUN').map((item) => item.args);
    expect(runs.some((args) => args.includes(`install -d -o ${user} -g ${user} -m 0700 /claude`))).toBe(true);
    const env = runtimeStage.instructions.filter((item) => item.keyword === 'ENV').map((item) => item.args).join(' ');
    expect(env).toMatch(/(^|\s)CLAUDE_CONFIG_DIR=\/claude(\s|$)/);
  });

  test('the tests run in the build stage only when RUN_TESTS=true', () => {
    expect(argDefault(dockerfileText, 'RUN_TESTS')).toBe('false');
    expect(buildStage?.instructions.some((item) => item.keyword === 'RUN' && item.args.includes('"$RUN_TESTS" = "true"') && item.args.includes('npm test'))).toBe(true);
  });

  test('the runtime stage copies only the bundle, and the copy runs with no node_modules anywhere above it', () => {
    const copies = runtimeStage.instructions.filter((item) => item.keyword === 'COPY').map((item) => parseCopy(item.args));
    expect(copies).toEqual([{ from: 'build', sources: ['/app/dist'], dest: '/opt/claude-creds' }]);
    expect(nodeModulesAbove(dirname(entryScript()))).toEqual([]);
  });

  test('ENTRYPOINT is tini, then node running the bundle that the build made; CMD is --help', () => {
    const entrypoint = jsonArgs(runtimeStage, 'ENTRYPOINT');
    // Debian's tini package installs /usr/bin/tini.
    expect(entrypoint.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
    expect(entrypoint[3]).toBe('/opt/claude-creds/claude-creds.mjs');
    expect(existsSync(entryScript())).toBe(true);
    expect(jsonArgs(runtimeStage, 'CMD')).toEqual(['--help']);
  });

  test('runs as a non-root user, with OCI labels whose version is the package version', () => {
    const user = runtimeStage.instructions.filter((item) => item.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    const labels = runtimeStage.instructions.filter((item) => item.keyword === 'LABEL').map((item) => item.args).join(' ');
    for (const key of ['title', 'description', 'version', 'licenses']) expect(labels).toContain(`org.opencontainers.image.${key}=`);
    expect(argDefault(dockerfileText, 'VERSION')).toBe(packageJson.version);
  });

  test('`docker run IMAGE` (CMD --help) prints usage from the runtime copy', async () => {
    const result = await runBundle(entryScript(), jsonArgs(runtimeStage, 'CMD'));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: claude-creds');
  });

  test('`docker run IMAGE fetch` works with the env provider from the runtime copy', async () => {
    const login = makeFakeCredentials();
    const config = join(tempDir(), 'claude');
    const result = await runBundle(entryScript(), ['fetch'], { env: { CLAUDE_CREDENTIALS_B64: login.base64, CLAUDE_CONFIG_DIR: config } });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(config, '.credentials.json'), 'utf8')).toBe(login.json);
  });

  test('`docker run IMAGE fetch --provider aws` works from the runtime copy against the AWS fake', async () => {
    const login = makeFakeCredentials();
    fake.store.addVersion(fake.storeKey('docker-fetch'), login.json);
    const out = join(tempDir(), 'c.json');
    const result = await runBundle(entryScript(), ['fetch', '--secret', fake.secretRef('docker-fetch'), '--out', out, ...fake.cliArgs], { env: fake.cliEnv });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(login.json);
  });

  test('`docker run IMAGE -- cmd` wraps the command', async () => {
    const login = makeFakeCredentials();
    const result = await runBundle(entryScript(), ['--', 'sh', '-c', 'test -s "$CLAUDE_CONFIG_DIR/.credentials.json" && echo ready'], {
      env: { CLAUDE_CREDENTIALS_B64: login.base64, CLAUDE_CONFIG_DIR: join(tempDir(), 'cfg') },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('ready');
  });
});

describe('the HEALTHCHECK', () => {
  const tempDir = useTempDir();
  const healthcheck = runtimeStage.instructions.find((item) => item.keyword === 'HEALTHCHECK')?.args ?? '';
  const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];

  /** Runs the check's command with the image's paths mapped into the scratch root. */
  const check = (env: Record<string, string>) => {
    const mapped = command.map((word) => word.replaceAll('/opt/claude-creds/', `${join(imageRoot, 'opt', 'claude-creds')}/`));
    const result = spawnSync(mapped[0] as string, mapped.slice(1), {
      env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: tempDir(), ...env },
      encoding: 'utf8',
    });
    return result.status;
  };

  const serve = (status: number): Promise<Server> =>
    new Promise((resolve) => {
      const server = createServer((request, response) => {
        response.writeHead(request.url === '/healthz' ? status : 404).end();
      });
      server.listen(0, '127.0.0.1', () => resolve(server));
    });

  test('uses the exec form with a bounded timeout', () => {
    expect(healthcheck).toMatch(/--timeout=\d+s/);
    expect(command[0]).toBe('/bin/sh');
  });

  test('status branch: healthy with a valid file, unhealthy when it is missing or invalid', () => {
    const config = join(tempDir(), 'claude');
    expect(check({ CLAUDE_CONFIG_DIR: config })).toBe(1);
    mkdirSync(config);
    writeFileSync(join(config, '.credentials.json'), makeFakeCredentials().json);
    expect(check({ CLAUDE_CONFIG_DIR: config })).toBe(0);
    writeFileSync(join(config, '.credentials.json'), '{"claudeAiOauth": {}}');
    expect(check({ CLAUDE_CONFIG_DIR: config })).toBe(1);
  });

  test('status branch with the sidecar\'s CLAUDE_CREDS_WARN_BEFORE=1h,10m: healthy while valid or expiring, not broken by the list', () => {
    const config = join(tempDir(), 'claude');
    mkdirSync(config);
    const env = { CLAUDE_CONFIG_DIR: config, CLAUDE_CREDS_WARN_BEFORE: '1h,10m' };
    writeFileSync(join(config, '.credentials.json'), makeFakeCredentials({ expiresAt: Date.now() + 8 * 3600_000 }).json);
    expect(check(env)).toBe(0);
    writeFileSync(join(config, '.credentials.json'), makeFakeCredentials({ expiresAt: Date.now() + 30 * 60_000 }).json);
    expect(check(env)).toBe(0);
    rmSync(join(config, '.credentials.json'));
    expect(check(env)).toBe(1);
  });

  test.each([
    [200, 0],
    [503, 1],
  ])('sidecar branch: /healthz answering %i gives %i', async (status, expected) => {
    const server = await serve(status);
    try {
      const { port } = server.address() as { port: number };
      const result = await new Promise<number | null>((resolve) => {
        // Async spawn: the server answers from this same event loop.
        const child = spawnChild(command, { CLAUDE_CREDS_HEALTH_PORT: String(port) });
        child.on('close', resolve);
      });
      expect(result).toBe(expected);
    } finally {
      server.close();
    }
  });

  function spawnChild(words: string[], env: Record<string, string>) {
    return spawn(words[0] as string, words.slice(1), { env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: tempDir(), ...env }, stdio: 'ignore' });
  }
});

describe('the worker image example (compose-examples/worker.Dockerfile)', () => {
  const worker = parseDockerfile(readFileSync(join(ROOT, 'compose-examples', 'worker.Dockerfile'), 'utf8'))[0] as Stage;

  test('copies the directory the runtime stage holds the bundle in, and its ENTRYPOINT runs that bundle', () => {
    const runtimeDest = parseCopy(runtimeStage.instructions.find((item) => item.keyword === 'COPY')?.args ?? '').dest;
    const copy = parseCopy(worker.instructions.find((item) => item.keyword === 'COPY')?.args ?? '');
    expect(copy).toEqual({ from: `claude-creds:${packageJson.version}`, sources: [runtimeDest], dest: runtimeDest });
    const entrypoint = jsonArgs(worker, 'ENTRYPOINT');
    expect(entrypoint[0]).toBe('node');
    expect(existsSync(join(imageRoot, entrypoint[1] as string))).toBe(true);
    expect(entrypoint.at(-1)).toBe('--');
  });
});
