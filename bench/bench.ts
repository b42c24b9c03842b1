/**
 * `npm run bench`: what claude-creds costs on the start path of a worker and beside it, measured in one
 * run on this machine against the same local fakes the tests use. Prints a markdown report and writes it
 * to bench/results.md. Every figure is a measurement of this run; nothing is carried over.
 *
 * BENCH_RUNS (default 11) sets the start-up sample count, BENCH_IDLE_SECONDS (default 60) the idle window,
 * BENCH_REWRITES (default 200) the file-to-store samples, BENCH_SCALE_SECONDS (default 30) each scale window.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
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
const DEV_ENTRY = ['--import', 'tsx', join(ROOT, 'src', 'entrypoint.ts')];
const GUARD = join(ROOT, 'test', 'support', 'loopback-guard.mjs');
const RSS_PRELOAD = join(ROOT, 'bench', 'report-rss.mjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const REWRITES = Number(process.env.BENCH_REWRITES ?? 200);
const HOUR = 3600_000;
const work = mkdtempSync(join(tmpdir(), 'claude-creds-bench-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const median = (values: number[]) => percentile(values, 50);
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
const fmt = (n: number, digits = 1) => n.toFixed(digits);

interface Sample {
  readonly ms: number;
  readonly rssKb: number;
}

let sampleCounter = 0;
/** Runs `node <args>` (or a plain command) to completion; wall time from spawn to exit, peak RSS from the preload. */
function timeRun(argv: readonly string[], env: NodeJS.ProcessEnv, plain = false): Promise<Sample> {
  const rssFile = join(work, `rss-${(sampleCounter += 1)}`);
  const [command, args] = plain ? [argv[0] as string, argv.slice(1)] : [process.execPath, ['--import', RSS_PRELOAD, '--import', GUARD, ...argv]];
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
  readonly args: (out: string) => string[];
  readonly env: NodeJS.ProcessEnv;
}

interface StartupRow {
  readonly entry: string;
  readonly provider: string;
  readonly ms: number;
  readonly rssMb: number;
  readonly baselineMs: number;
  readonly baselineRssMb: number;
}

/** A B A B ...: the baseline and the case alternate so drift in machine load hits both alike. */
async function measureStartup(entry: string, entryArgs: readonly string[], cases: StartupCase[]): Promise<StartupRow[]> {
  const rows: StartupRow[] = [];
  for (const testCase of cases) {
    const base: Sample[] = [];
    const samples: Sample[] = [];
    await timeRun([...entryArgs, ...testCase.args(join(work, 'warm.json'))], testCase.env); // warm the page cache
    for (let i = 0; i < RUNS; i += 1) {
      base.push(await timeRun(['-e', '0'], baseEnv()));
      samples.push(await timeRun([...entryArgs, ...testCase.args(join(work, `out-${entry}-${testCase.name}-${i}`, '.credentials.json'))], testCase.env));
    }
    rows.push({
      entry,
      provider: testCase.name,
      ms: median(samples.map((s) => s.ms)),
      rssMb: median(samples.map((s) => s.rssKb)) / 1024,
      baselineMs: median(base.map((s) => s.ms)),
      baselineRssMb: median(base.map((s) => s.rssKb)) / 1024,
    });
    process.stderr.write(`startup ${entry} ${testCase.name}: ${fmt(rows.at(-1)?.ms ?? 0)} ms\n`);
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
      name,
      args: (out) => ['fetch', ...fake.cliArgs, '--secret', fake.secretRef('bench'), '--out', out],
      env: baseEnv({ ...fake.cliEnv }),
    };
  };
  const cases: StartupCase[] = [
    { name: 'env', args: (out) => ['fetch', '--out', out], env: baseEnv({ CLAUDE_CREDENTIALS_B64: login.base64 }) },
    { name: 'file', args: (out) => ['fetch', '--provider', 'file', '--secret', storeFile, '--out', out], env: baseEnv() },
    cloud(aws, 'aws'),
    cloud(gcp, 'gcp'),
    cloud(azure, 'azure'),
    // In-cluster configuration: the service account token read from its file, HTTPS to the API server.
    cloud(kubernetes, 'kubernetes'),
  ];

  const startup = [...(await measureStartup('bundle', [BUNDLE], cases)), ...(await measureStartup('dev (tsx)', DEV_ENTRY, cases.slice(0, 2)))];

  // claude-creds -- true against true.
  const wrapperEnv = baseEnv({ CLAUDE_CREDENTIALS_B64: login.base64, CLAUDE_CONFIG_DIR: join(work, 'wrapper') });
  const bare: number[] = [];
  const wrapped: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    bare.push((await timeRun(['true'], wrapperEnv, true)).ms);
    wrapped.push((await timeRun([BUNDLE, '--', 'true'], wrapperEnv)).ms);
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
      base.push((await timeRun(['-e', '0'], baseEnv())).ms);
      samples.push((await timeRun(args, baseEnv())).ms);
    }
    breakdown.push({ what, ms: median(samples), baselineMs: median(base) });
  }

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
    fileToStore.push(await waitFor(() => currentText() === next.json, 5000));
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
  await waitFor(() => existsSync(pullLocal), 10_000);
  const storeToFile: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    await sleep(Math.random() * pullMs);
    const next = makeFakeCredentials({ expiresAt: Date.now() + 9 * HOUR + i * 1000 });
    aws.store.addVersion(aws.storeKey('puller'), next.json);
    storeToFile.push(await waitFor(() => readFileSync(pullLocal, 'utf8') === next.json, 5000));
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
  rmSync(work, { recursive: true, force: true });

  const lines: string[] = [];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  lines.push(`# claude-creds benchmark`, '');
  lines.push(`${new Date().toISOString()} · ${cpu} · ${cpus().length} cores · ${fmt(totalmem() / 2 ** 30, 0)} GiB · Linux ${release()} · Node ${process.version}`, '');
  lines.push(`## Start-up: \`claude-creds fetch\` vs \`node -e 0\` (medians of ${RUNS} interleaved runs; both with the same RSS and loopback-guard preloads)`, '');
  lines.push('| entry | provider | wall ms | ratio to node -e 0 | peak RSS MB | node -e 0 ms | node -e 0 RSS MB |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of startup) {
    lines.push(`| ${row.entry} | ${row.provider} | ${fmt(row.ms)} | ${fmt(row.ms / row.baselineMs, 2)}x | ${fmt(row.rssMb)} | ${fmt(row.baselineMs)} | ${fmt(row.baselineRssMb)} |`);
  }
  lines.push('', '## Wrapper overhead', '');
  lines.push(`\`claude-creds -- true\` (bundle, env provider) ${fmt(median(wrapped))} ms vs \`true\` ${fmt(median(bare))} ms: overhead ${fmt(median(wrapped) - median(bare))} ms (medians of ${RUNS}).`);
  lines.push('', `## Where start-up goes: each library loaded alone, against \`node -e 0\` (medians of ${RUNS} interleaved runs)`, '');
  lines.push('| what | wall ms | over node -e 0 | ratio |', '| --- | ---: | ---: | ---: |');
  for (const row of breakdown) {
    lines.push(`| ${row.what} | ${fmt(row.ms)} | +${fmt(row.ms - row.baselineMs)} | ${fmt(row.ms / row.baselineMs, 2)}x |`);
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
}

await main();
