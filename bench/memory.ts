/**
 * `npm run bench:memory`: the sidecar's memory over time, written to bench/memory-results.md.
 *
 * 1. Live heap over BENCH_PULLS (default 10,000) pulls: bench/memory-probe.ts, bundled like dist/ (so no
 *    TypeScript loader sits in its heap) and run as its own `node --expose-gc` process, calls the
 *    sidecar's own engine (startSync, as `claude-creds sidecar` does) against the local AWS fake and
 *    reports, every 1,000 pulls, the heap after a full GC with V8's compiled code apart.
 * 2. Idle RSS: the shipped sidecar (dist/, default pull interval) sampled at start and after
 *    BENCH_IDLE_SECONDS (default 600), by bench/sidecar-idle.ts, at the same time.
 *
 * Like `npm run bench`, it re-runs itself in a private network namespace (`unshare -rn`, loopback up).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FAKE_AWS_ENV, startFakeAws } from '../test/fakes/aws-secrets-manager.js';
import { makeFakeCredentials } from '../test/support/fake-credentials.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PULLS = Number(process.env.BENCH_PULLS ?? 10_000);
const STEP = 1000;
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 600);

if (process.env.BENCH_ISOLATED !== '1') {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_ISOLATED: '1' };
  delete env.NODE_EXTRA_CA_CERTS;
  const inner = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], { env, stdio: 'inherit' });
  if (inner.error) throw new Error(`unshare -rn failed (${inner.error.message})`);
  process.exit(inner.status ?? 1);
}
delete process.env.NODE_EXTRA_CA_CERTS;

const work = mkdtempSync(join(tmpdir(), 'claude-creds-memory-'));
const idle = spawn(process.execPath, [...process.execArgv, join(ROOT, 'bench', 'sidecar-idle.ts')], {
  env: { ...process.env, BENCH_IDLE_SECONDS: String(IDLE_SECONDS) },
  stdio: ['ignore', 'pipe', 'ignore'],
});
let idleOut = '';
idle.stdout.on('data', (chunk: Buffer) => (idleOut += chunk.toString()));
const idleDone = new Promise((resolve) => idle.once('exit', resolve));
process.on('exit', () => idle.kill('SIGKILL'));

// The probe, bundled with the settings of scripts/build.mjs that matter at run time.
const probe = join(work, 'memory-probe.mjs');
await build({
  absWorkingDir: ROOT,
  entryPoints: ['bench/memory-probe.ts'],
  outfile: probe,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  alias: { 'thread-stream': join(ROOT, 'scripts', 'stubs', 'thread-stream.cjs') },
  mainFields: ['module', 'main'],
  conditions: ['node', 'import'],
  keepNames: true,
  banner: { js: "import { createRequire as __claudeCredsCreateRequire } from 'node:module';\nconst require = __claudeCredsCreateRequire(import.meta.url);" },
  inject: [join(ROOT, 'scripts', 'build-shims.mjs')],
  logLevel: 'warning',
});

const aws = await startFakeAws();
aws.store.addVersion(aws.storeKey('memory'), makeFakeCredentials({ expiresAt: Date.now() + 8 * 3600_000 }).json);
const child = spawn(process.execPath, ['--expose-gc', '--import', join(ROOT, 'test', 'support', 'loopback-guard.mjs'), probe, aws.url, 'memory', join(work, '.claude', '.credentials.json')], {
  env: { PATH: process.env.PATH, HOME: work, ...FAKE_AWS_ENV },
  stdio: ['pipe', 'pipe', 'ignore'],
});
process.on('exit', () => child.kill('SIGKILL'));
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const ask = async (command: string): Promise<Record<string, number>> => {
  child.stdin.write(`${command}\n`);
  const line = await lines.next();
  if (line.done === true) throw new Error(`the probe ended before answering ${command}`);
  return JSON.parse(line.value as string) as Record<string, number>;
};
const samples: Array<Record<string, number>> = [{ pulls: 0, ...(await ask('sample')) }];
for (let done = 0; done < PULLS; done += STEP) {
  const answer = await ask(`pull ${STEP}`);
  samples.push({ ...answer, pulls: done + STEP });
  process.stderr.write(`memory: ${done + STEP} pulls, heap ${answer.heapUsedKb} KiB (code ${answer.codeKb} KiB)\n`);
}
await ask('stop');
// The probe has stopped its sync; its stdin still holds it open: end that, and make sure it is gone.
child.stdin.end();
const exited = new Promise((resolve) => child.once('exit', resolve));
const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
await exited;
clearTimeout(killer);
const storeCalls = aws.faults.calls.length;
await aws.close();
process.stderr.write(`memory: waiting for the idle sidecar (${IDLE_SECONDS} s from its start)\n`);
await idleDone;
rmSync(work, { recursive: true, force: true });

const idleSamples = idleOut
  .trim()
  .split('\n')
  .filter((line) => line.startsWith('{'))
  .map((line) => JSON.parse(line) as { s?: number; rssMb?: number; summary?: boolean; startMb?: number; endMb?: number });
const summary = idleSamples.find((s) => s.summary === true);
const mb = (kb: number | undefined) => ((kb ?? Number.NaN) / 1024).toFixed(1);
const first = samples[1] as Record<string, number>;
const last = samples.at(-1) as Record<string, number>;
const out: string[] = [];
out.push('# claude-creds sidecar memory', '');
out.push(`${new Date().toISOString()} · ${cpus()[0]?.model ?? '?'} · ${cpus().length} cores · Linux ${release()} · Node ${process.version} · load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`, '');
out.push('In a private network namespace (`unshare -rn`), against the local AWS fake, `NODE_EXTRA_CA_CERTS` unset.', '');
out.push(`## Live heap over ${PULLS.toLocaleString('en')} pulls (after a full GC; ${storeCalls} store calls)`, '');
out.push('| pulls | heap used MB | of which compiled code MB | heap less code MB | RSS MB | ms per 1,000 pulls |', '| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const s of samples) out.push(`| ${s.pulls} | ${mb(s.heapUsedKb)} | ${mb(s.codeKb)} | ${mb(s.heapLessCodeKb)} | ${mb(s.rssKb)} | ${s.ms === undefined ? '-' : s.ms.toFixed(0)} |`);
const perPull = (((last.heapLessCodeKb ?? 0) - (first.heapLessCodeKb ?? 0)) * 1024) / (PULLS - STEP);
out.push('', `From ${STEP} to ${PULLS} pulls the heap less compiled code moved ${mb((last.heapLessCodeKb ?? 0) - (first.heapLessCodeKb ?? 0))} MB (${perPull.toFixed(1)} bytes per pull); compiled code ${mb((last.codeKb ?? 0) - (first.codeKb ?? 0))} MB.`);
out.push('', `## The shipped sidecar idle (dist/, default pull interval 5m), RSS`, '');
out.push('| seconds since its first file | RSS MB |', '| ---: | ---: |');
for (const s of idleSamples.filter((x) => x.summary !== true)) out.push(`| ${s.s} | ${s.rssMb} |`);
out.push('', `Start ${summary?.startMb ?? '?'} MB, after ${IDLE_SECONDS} s idle ${summary?.endMb ?? '?'} MB.`);
const report = `${out.join('\n')}\n`;
process.stdout.write(report);
writeFileSync(join(ROOT, 'bench', 'memory-results.md'), report);
