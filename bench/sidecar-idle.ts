/**
 * The shipped sidecar's resident memory while idle: one `claude-creds sidecar` process (the bundle, at
 * the default pull interval) against the local AWS fake, under the loopback guard, its RSS sampled from
 * /proc at start (its first file written) and every minute until BENCH_IDLE_SECONDS (default 600).
 * Prints one JSON line per sample; the last line is the summary bench/memory.ts reports.
 *
 * Usage: node --import tsx bench/sidecar-idle.ts [bundle] (default dist/claude-creds.mjs)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE_AWS_ENV, startFakeAws } from '../test/fakes/aws-secrets-manager.js';
import { makeFakeCredentials } from '../test/support/fake-credentials.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const bundle = process.argv[2] ?? join(ROOT, 'dist', 'claude-creds.mjs');
const seconds = Number(process.env.BENCH_IDLE_SECONDS ?? 600);
const node = process.env.BENCH_NODE ?? process.execPath;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

const work = mkdtempSync(join(tmpdir(), 'claude-creds-idle-'));
const aws = await startFakeAws();
aws.store.addVersion(aws.storeKey('idle'), makeFakeCredentials({ expiresAt: Date.now() + 8 * 3600_000 }).json);
const out = join(work, '.claude', '.credentials.json');
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, ...FAKE_AWS_ENV, ...aws.cliEnv, CLAUDE_CREDS_LOG_FORMAT: 'json' };
const sidecar = spawn(node, ['--import', join(ROOT, 'test', 'support', 'loopback-guard.mjs'), bundle, 'sidecar', ...aws.cliArgs, '--secret', aws.secretRef('idle'), '--out', out], {
  env,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const pid = sidecar.pid as number;
const started = Date.now();
while (!existsSync(out)) {
  if (Date.now() - started > 15_000) throw new Error('the sidecar wrote no file in 15 s');
  await sleep(20);
}
const samples: Array<{ s: number; rssMb: number }> = [];
const take = () => {
  const sample = { s: Math.round((Date.now() - started) / 1000), rssMb: Number(rssMb(pid).toFixed(1)) };
  samples.push(sample);
  process.stdout.write(`${JSON.stringify(sample)}\n`);
};
take();
for (let next = 60; next <= seconds; next += 60) {
  await sleep(Math.max(0, started + next * 1000 - Date.now()));
  take();
}
if (seconds % 60 !== 0) {
  await sleep(Math.max(0, started + seconds * 1000 - Date.now()));
  take();
}
sidecar.kill('SIGTERM');
await new Promise((resolve) => sidecar.once('exit', resolve));
await aws.close();
rmSync(work, { recursive: true, force: true });
const first = samples[0];
const last = samples.at(-1);
process.stdout.write(`${JSON.stringify({ summary: true, node: node === process.execPath ? process.version : node, seconds, startMb: first?.rssMb, endMb: last?.rssMb, storeCalls: aws.faults.calls.length })}\n`);
