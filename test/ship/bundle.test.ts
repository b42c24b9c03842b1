/**
 * The bundle that `npm run build` makes, run with plain `node` from a directory that holds nothing but
 * a copy of dist/: every provider works against its local fake, the cloud SDKs stay out of the start-up
 * path, and `npm pack` gives a package whose `claude-creds` bin is that bundle.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { startFakeAws } from '../fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../fakes/azure-key-vault.js';
import { startFakeGcp } from '../fakes/gcp-secret-manager.js';
import { startFakeKubernetes } from '../fakes/kubernetes-api.js';
import { startFakeVault } from '../fakes/vault.js';
import type { RunningFake } from '../fakes/running-fake.js';
import { loginOf } from '../support/sync-harness.js';
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { useTempDir } from '../support/temp-dir.js';
import { BUNDLE_ENTRY, BUNDLE_NODE, ROOT, buildBundle, copyIntoEmptyDir, nodeModulesAbove, runBundle, type Build, type Metafile } from './ship-support.js';

const SDK_PACKAGES = ['@aws-sdk/', '@smithy/', '@google-cloud/', 'google-gax', '@grpc/', '@azure/', '@azure-rest/', 'protobufjs'];

let build: Build;
let copy: ReturnType<typeof copyIntoEmptyDir>;
let entry: string;

beforeAll(() => {
  build = buildBundle();
  copy = copyIntoEmptyDir(build.dist);
  entry = join(copy.dist, BUNDLE_ENTRY);
});
afterAll(() => {
  copy?.remove();
  build?.remove();
});

/**
 * Output files (absolute paths) reachable from `from`: through static imports only (what loading
 * `from` loads), or through dynamic imports too (everything it may ever load).
 */
function staticClosure(meta: Metafile, from: readonly string[], withDynamic = false): Set<string> {
  const byPath = new Map(Object.entries(meta.outputs).map(([path, info]) => [resolve(ROOT, path), info]));
  const seen = new Set<string>();
  const queue = [...from];
  while (queue.length > 0) {
    const path = queue.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imported of byPath.get(path)?.imports ?? []) {
      if ((withDynamic || imported.kind === 'import-statement') && !imported.path.startsWith('node:')) queue.push(resolve(ROOT, imported.path));
    }
  }
  return seen;
}

function inputsOf(meta: Metafile, outputs: Set<string>): string[] {
  return Object.entries(meta.outputs)
    .filter(([path]) => outputs.has(resolve(ROOT, path)))
    .flatMap(([, info]) => Object.keys(info.inputs));
}

describe('the bundle, copied alone into an empty directory', () => {
  const tempDir = useTempDir();

  // Only when another node was asked for (npm run test:node24): otherwise the runtime is this process's.
  test.runIf(process.env.CLAUDE_CREDS_TEST_NODE !== undefined)('runs on CLAUDE_CREDS_TEST_NODE, of the major CLAUDE_CREDS_TEST_NODE_MAJOR names', () => {
    const version = spawnSync(BUNDLE_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(JSON.stringify({ bundleNode: BUNDLE_NODE, version, vitestNode: process.version }));
    expect(process.env.CLAUDE_CREDS_TEST_NODE_MAJOR, 'set CLAUDE_CREDS_TEST_NODE_MAJOR too').toMatch(/^\d+$/);
    expect(version).toMatch(new RegExp(`^v${process.env.CLAUDE_CREDS_TEST_NODE_MAJOR}\\.`));
  });

  test('no node_modules is reachable from the copy, and only .mjs files were built', () => {
    expect(nodeModulesAbove(copy.dist)).toEqual([]);
    const outputs = Object.keys(build.meta.outputs).filter((path) => !path.endsWith('.LEGAL.txt'));
    expect(outputs.filter((path) => !path.endsWith('.mjs'))).toEqual([]);
  });

  test('--help and --version work, and the version is the package version', async () => {
    const help = await runBundle(entry, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: claude-creds');
    for (const command of ['fetch', 'run', 'sidecar', 'status', 'push']) expect(help.stdout).toContain(command);
    const version = await runBundle(entry, ['--version']);
    expect(version.stdout.trim()).toBe(packageJson.version);
  });

  test('the entry is executable with a node shebang, so npm can link it as a bin', () => {
    expect(readFileSync(entry, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(entry).mode & 0o111).not.toBe(0);
  });

  test('env provider: fetch writes the file 0600 from CLAUDE_CREDENTIALS_B64', async () => {
    const login = makeFakeCredentials();
    const out = join(tempDir(), 'cfg', '.credentials.json');
    const result = await runBundle(entry, ['fetch', '--out', out], { env: { CLAUDE_CREDENTIALS_B64: login.base64 } });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(login.json);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  test('pretty logs (what a terminal gets) work from the bundle too', async () => {
    const login = makeFakeCredentials();
    const out = join(tempDir(), 'cfg', '.credentials.json');
    const result = await runBundle(entry, ['fetch', '--out', out, '--log-format', 'pretty'], { env: { CLAUDE_CREDENTIALS_B64: login.base64 } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/INFO.*: credentials written/);
    expect(result.stderr).not.toMatch(/^\{/m); // not JSON
  });

  test('file provider: push, then fetch and wrap a command, through the store file', async () => {
    const dir = tempDir();
    const login = makeFakeCredentials();
    writeFileSync(join(dir, 'login.json'), login.json);
    const store = join(dir, 'share', 'credentials.json');
    const pushed = await runBundle(entry, ['push', '--provider', 'file', '--secret', store, '--from', join(dir, 'login.json')]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const wrapped = await runBundle(entry, ['--provider', 'file', '--secret', store, '--', 'sh', '-c', 'cat "$CLAUDE_CONFIG_DIR/.credentials.json" | wc -c'], {
      env: { CLAUDE_CONFIG_DIR: join(dir, 'worker') },
    });
    expect(wrapped.code, wrapped.stderr).toBe(0);
    expect(Number(wrapped.stdout.trim())).toBe(Buffer.byteLength(login.json));
  });

  // The bundle is minified without keepNames: each error class must name itself, or errorType turns into
  // a minified identifier (what this table caught when keepNames was first turned off).
  test.each([
    ['credentials that are neither JSON nor base64', ['fetch'], 65, 'InvalidCredentialsError'],
    ['a store file that does not exist', ['fetch', '--provider', 'file', '--secret', '/nonexistent/claude-creds/store.json'], 66, 'NotFoundError'],
    ['a flag the command does not take', ['fetch', '--refresh-before', '10m'], 64, 'UsageError'],
    ['the sidecar on the read-only env provider', ['sidecar', '--provider', 'env'], 64, 'UsageError'],
  ])('the fatal line of %s names the error class (errorType) and its exit code', async (_what, args, exitCode, errorType) => {
    const out = join(tempDir(), 'cfg', '.credentials.json');
    const result = await runBundle(entry, [...args, '--out', out], { env: { CLAUDE_CREDENTIALS_B64: Buffer.from('not json').toString('base64') } });
    expect(result.code).toBe(exitCode);
    const fatal = result.stderr.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ exitCode, errorType });
  });

  test('status reports on the written file with its own exit codes (4 when missing)', async () => {
    const result = await runBundle(entry, ['status', '--out', join(tempDir(), 'nothing.json')]);
    expect(result.code).toBe(4);
  });
});

const cloudCases: Array<{
  readonly name: string;
  readonly start: () => Promise<RunningFake>;
  /** The credentials payload inside what the fake stored, when it stores more than the payload. */
  readonly payloadOf?: (stored: string) => string;
}> = [
  { name: 'aws', start: () => startFakeAws() },
  { name: 'gcp', start: () => startFakeGcp() },
  { name: 'azure', start: () => startFakeAzure() },
  // Vault keeps KV data, an object: the credentials live in its `credentials` field.
  { name: 'vault', start: () => startFakeVault(), payloadOf: (stored: string) => (JSON.parse(stored) as { credentials: string }).credentials },
  // The fake stores the Secret object: the credentials are the base64 of its credentials.json key.
  {
    name: 'kubernetes',
    start: () => startFakeKubernetes(),
    payloadOf: (stored: string) => Buffer.from((JSON.parse(stored) as { data: Record<string, string> }).data['credentials.json'] ?? '', 'base64').toString('utf8'),
  },
];

describe.each(cloudCases)('the bundle with the $name provider against its local fake', ({ start, payloadOf = (stored: string) => stored }) => {
  let fake: RunningFake;
  const tempDir = useTempDir();
  beforeAll(async () => {
    fake = await start();
  });
  afterAll(async () => {
    await fake?.close();
  });

  test('push, then fetch in another process, round-trips the credentials byte for byte', async () => {
    const dir = tempDir();
    const login = makeFakeCredentials();
    writeFileSync(join(dir, 'login.json'), login.json);
    const secret = fake.secretRef('bundle-round-trip');
    const flags = [...fake.cliArgs, '--timeout', '20s'];
    const pushed = await runBundle(entry, ['push', '--secret', secret, '--from', join(dir, 'login.json'), ...flags], { env: fake.cliEnv });
    expect(pushed.code, pushed.stderr).toBe(0);
    const stored = fake.store.latest(fake.storeKey('bundle-round-trip'))?.value ?? '';
    // The store's copy carries claude-creds' generation beside the login; the worker's copy is the login's bytes.
    expect(loginOf(payloadOf(typeof stored === 'string' ? stored : Buffer.from(stored).toString('utf8')))).toEqual(loginOf(login.json));
    const out = join(dir, 'worker', '.credentials.json');
    const fetched = await runBundle(entry, ['fetch', '--secret', secret, '--out', out, ...flags], { env: fake.cliEnv });
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(login.json);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });
});

describe('code splitting', () => {
  const tempDir = useTempDir();
  const outputPath = (file: string) => join(build.dist, file);

  test('start-up loads no cloud SDK code: the entry, env and file providers import none statically', () => {
    const closure = staticClosure(build.meta, [outputPath(BUNDLE_ENTRY), outputPath('providers/env.mjs'), outputPath('providers/file.mjs')]);
    const inputs = inputsOf(build.meta, closure);
    expect(inputs.length).toBeGreaterThan(10);
    expect(inputs.filter((input) => SDK_PACKAGES.some((sdk) => input.includes(`node_modules/${sdk}`)))).toEqual([]);
  });

  test.each(['aws', 'gcp', 'azure'])('the %s SDK is bundled, in chunks its provider loads (and start-up does not)', (name) => {
    const closure = staticClosure(build.meta, [outputPath(`providers/${name}.mjs`)], true);
    const sdk = { aws: '@aws-sdk/client-secrets-manager', gcp: '@google-cloud/secret-manager', azure: '@azure/keyvault-secrets' }[name] as string;
    expect(inputsOf(build.meta, closure).some((input) => input.includes(`node_modules/${sdk}/`))).toBe(true);
  });

  test('the kubernetes provider loads the YAML parser only on the kubeconfig path: in a pod it is never read', () => {
    const onLoad = inputsOf(build.meta, staticClosure(build.meta, [outputPath('providers/kubernetes.mjs')]));
    const ever = inputsOf(build.meta, staticClosure(build.meta, [outputPath('providers/kubernetes.mjs')], true));
    expect(onLoad.some((input) => input.includes('src/providers/kubernetes/client.ts'))).toBe(true);
    expect(onLoad.filter((input) => input.includes('node_modules/'))).toEqual([]);
    expect(ever.some((input) => input.includes('node_modules/yaml/'))).toBe(true);
  });

  test('without the files only cloud providers need, fetch --provider env still works and aws is exit 69', async () => {
    const needed = staticClosure(build.meta, [outputPath(BUNDLE_ENTRY), outputPath('providers/env.mjs'), outputPath('providers/file.mjs')]);
    const stripped = copyIntoEmptyDir(build.dist);
    try {
      let removed = 0;
      for (const path of Object.keys(build.meta.outputs).map((key) => resolve(ROOT, key))) {
        if (!path.endsWith('.mjs') || needed.has(path)) continue;
        rmSync(join(stripped.dist, relative(build.dist, path)));
        removed += 1;
      }
      expect(removed).toBeGreaterThan(3);
      const login = makeFakeCredentials();
      const out = join(tempDir(), '.credentials.json');
      const strippedEntry = join(stripped.dist, BUNDLE_ENTRY);
      const env = await runBundle(strippedEntry, ['fetch', '--provider', 'env', '--out', out], { env: { CLAUDE_CREDENTIALS_B64: login.base64 } });
      expect(env.code, env.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(login.json);
      const aws = await runBundle(strippedEntry, ['fetch', '--provider', 'aws', '--secret', 'x', '--region', 'us-east-1', '--out', out]);
      expect(aws.code).toBe(69);
      expect(aws.stderr).toContain('could not load the aws provider');
    } finally {
      stripped.remove();
    }
  });

  test('figures: sizes and start time (printed for the record)', async () => {
    const sizes = Object.entries(build.meta.outputs)
      .filter(([path]) => path.endsWith('.mjs'))
      .map(([path, info]) => ({ file: relative(build.dist, resolve(ROOT, path)), kiB: Math.round(info.bytes / 1024) }))
      .sort((a, b) => b.kiB - a.kiB);
    const time = (args: string[]) => {
      const started = performance.now();
      const result = spawnSync(BUNDLE_NODE, args, { env: { PATH: process.env.PATH } });
      expect(result.status).toBe(0);
      return performance.now() - started;
    };
    const median = (runs: number[]) => runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number;
    const bare = median(Array.from({ length: 5 }, () => time(['-e', '0'])));
    const help = median(Array.from({ length: 5 }, () => time([entry, '--help'])));
    console.log(
      JSON.stringify({
        buildMs: Math.round(build.buildMs),
        totalKiB: sizes.reduce((sum, item) => sum + item.kiB, 0),
        entryKiB: sizes.find((item) => item.file === BUNDLE_ENTRY)?.kiB,
        largest: sizes.slice(0, 6),
        nodeDashE0Ms: Math.round(bare),
        helpMs: Math.round(help),
      }),
    );
    // No timing bound here (machines and load vary): that start-up loads no SDK is proven above from
    // the metafile and by the stripped copy; this records what it costs.
    expect(help).toBeGreaterThan(0);
  });
});

describe('npm pack', () => {
  test('gives a package with no dependencies whose claude-creds bin is the bundle, installable offline', () => {
    const work = mkdtempSync(join(tmpdir(), 'claude-creds-pack-'));
    try {
      // prepare runs the build into dist/, as it does for `npm publish`.
      const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
      expect(packed.status, packed.stderr).toBe(0);
      const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
      const files = info?.files.map((file) => file.path) ?? [];
      expect(files).toContain(packageJson.bin['claude-creds']);
      expect(files.filter((file) => file.startsWith('src/') || file.startsWith('test/') || file.startsWith('bin/'))).toEqual([]);
      expect('dependencies' in packageJson).toBe(false);

      const prefix = join(work, 'install');
      mkdirSync(prefix);
      const installed = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(work, info?.filename ?? '')], {
        encoding: 'utf8',
      });
      expect(installed.status, installed.stderr).toBe(0);
      // The bin's `#!/usr/bin/env node` finds the node under test first.
      const bin = spawnSync(join(prefix, 'node_modules', '.bin', 'claude-creds'), ['--version'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dirname(BUNDLE_NODE)}:${process.env.PATH ?? ''}` },
      });
      expect(bin.status, bin.stderr).toBe(0);
      expect(bin.stdout.trim()).toBe(packageJson.version);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
