/**
 * The worker hunting for what it must not have: claude-creds' environment (the secret variable, the
 * store's token), the refresh token an access-only copy leaves out. The worker script (worker-scan.sh)
 * reads every /proc/<pid>/environ and /proc/<pid>/cmdline and every file its uid can read under the
 * config directory, /tmp, /var/tmp, /dev/shm and /run, and reports the hash of each fake secret it finds.
 *
 * With `--user` (claude-creds as root, the worker as 1000:1000 with no groups) nothing is found. Without
 * it, the same scan finds the secret in claude-creds' /proc environ: the control that shows the scan
 * works, and the hole that remains where the wrapper stays as the parent (Node without process.execve,
 * or run --sync). Under Node >= 22.15 the plain wrapper execs the command, and the hole is gone.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeVault, type RunningFakeVault } from '../fakes/vault.js';
import { GUARD, runProcess, type CliResult } from '../support/cli.js';
import { makeFakeCredentials, type FakeCredentials } from '../support/fake-credentials.js';
import { BUNDLE_ENTRY, buildBundle, type Build } from '../ship/ship-support.js';
import { closedPort, figure, isRoot, node24Binary } from './support.js';

const WORKER = { uid: 1000, gid: 1000 };
const SCANNED = ['/tmp', '/var/tmp', '/dev/shm', '/run'];
const skipReason = !isRoot ? 'needs root: claude-creds must be root to run the worker as another user' : process.platform !== 'linux' ? 'needs Linux /proc' : undefined;
const node24 = node24Binary();

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Scan {
  readonly result: CliResult;
  readonly cliPid: number;
  /** The scanner's own line: pid, ppid, uid, gid, groups. */
  readonly header: string;
  /** Where each hash was found. */
  readonly found: Map<string, string[]>;
}

describe.skipIf(skipReason !== undefined)(`the worker cannot read the secret from anywhere${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`, () => {
  let build: Build;
  let work: string;
  let scanner: string;
  let vault: RunningFakeVault;
  let runs = 0;

  beforeAll(async () => {
    build = buildBundle();
    work = mkdtempSync(join(tmpdir(), 'claude-creds-isolation-'));
    chmodSync(work, 0o755);
    // A copy the worker's uid can reach wherever the repository is checked out.
    scanner = join(work, 'worker-scan.sh');
    copyFileSync(fileURLToPath(new URL('./worker-scan.sh', import.meta.url)), scanner);
    chmodSync(scanner, 0o755);
    vault = await startFakeVault();
  }, 60_000);
  afterAll(async () => {
    build?.remove();
    await vault?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs the bundle (under `node`) with `args` then `-- sh worker-scan.sh REPORT CONFIG_DIR /tmp ...`. */
  async function scan(node: string, args: readonly string[], env: Record<string, string>): Promise<Scan> {
    runs += 1;
    const config = join(work, `cfg-${runs}`);
    const reports = join(work, `report-${runs}`);
    mkdirSync(reports, { mode: 0o755 });
    chownSync(reports, WORKER.uid, WORKER.gid);
    const report = join(reports, 'found');
    let cliPid = -1;
    const result = await runProcess(
      node,
      ['--import', GUARD, join(build.dist, BUNDLE_ENTRY), 'run', ...args, '--out', join(config, '.credentials.json'), '--', 'sh', scanner, report, config, ...SCANNED],
      `isolation run ${runs}`,
      { env: { ...env, CLAUDE_CREDS_LOG_LEVEL: 'debug' }, onSpawn: (child) => (cliPid = child.pid ?? -1), timeoutMs: 60_000 },
    );
    expect(result.code, result.stderr).toBe(0);
    const [header = '', ...lines] = readFileSync(report, 'utf8').trim().split('\n');
    const found = new Map<string, string[]>();
    for (const line of lines) {
      const [where = '', hash = ''] = line.split('\t');
      found.set(hash, [...(found.get(hash) ?? []), where]);
    }
    return { result, cliPid, header, found };
  }

  /** Where any of `secrets` was found, by name. */
  function sightings(found: Map<string, string[]>, secrets: Record<string, string>): Record<string, string[]> {
    const seen: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(secrets)) {
      const wheres = found.get(sha256(value));
      if (wheres !== undefined) seen[name] = wheres;
    }
    return seen;
  }

  function storeLogin(name: string): FakeCredentials {
    const login = makeFakeCredentials();
    vault.store.addVersion(vault.storeKey(name), login.json);
    return login;
  }

  async function syncArgs(name: string): Promise<string[]> {
    // --refresh-before is required for an access-only copy; the token has hours left, so no refresh is due.
    return ['--sync', ...vault.cliArgs, '--secret', vault.secretRef(name), '--worker-copy', 'access-only', '--refresh-before', '10m', '--oauth-token-url', `http://127.0.0.1:${await closedPort()}/token`];
  }

  test('run --sync --worker-copy access-only --provider vault --user: neither VAULT_TOKEN nor the refresh token is anywhere the worker can read', async () => {
    const login = storeLogin('isolated-sync');
    const { found, header, cliPid } = await scan(process.execPath, [...(await syncArgs('isolated-sync')), '--user', `${WORKER.uid}:${WORKER.gid}`], { ...vault.cliEnv });
    expect(header).toMatch(new RegExp(`uid ${WORKER.uid} gid ${WORKER.gid} groups ${WORKER.gid}$`));
    const forbidden = sightings(found, { VAULT_TOKEN: vault.rootToken, refreshToken: login.refreshToken });
    figure('isolation: run --sync access-only vault, --user', { hashes_found: found.size, forbidden_found: Object.keys(forbidden).length, cli_pid: cliPid });
    expect(forbidden).toEqual({});
    // What it is meant to have, it has: the access token, in its own file.
    expect(sightings(found, { accessToken: login.accessToken })).toEqual({ accessToken: [expect.stringMatching(/cfg-\d+\/\.credentials\.json$/)] });
  });

  test('control: the same without --user (the worker as claude-creds\' own uid) reads VAULT_TOKEN from claude-creds\' /proc environ', async () => {
    storeLogin('shared-uid-sync');
    const { found, cliPid } = await scan(process.execPath, await syncArgs('shared-uid-sync'), { ...vault.cliEnv });
    const forbidden = sightings(found, { VAULT_TOKEN: vault.rootToken });
    figure('isolation: run --sync access-only vault, same uid (the hole --user closes)', { vault_token_found_in: (forbidden.VAULT_TOKEN ?? []).join(' ') });
    expect(forbidden.VAULT_TOKEN).toContain(`/proc/${cliPid}/environ`);
  });

  const runtimes: Array<[string, string | undefined]> = [
    [`Node ${process.versions.node}`, process.execPath],
    ['Node >= 22.15 (process.execve)', node24?.path],
  ];

  describe.each(runtimes)('the plain wrapper on %s', (label, node) => {
    const execs = label.includes('execve');

    test.skipIf(node === undefined)(`with --user: CLAUDE_CREDENTIALS_B64 is in no environment the worker can read${node === undefined ? ' (skipped: set CLAUDE_CREDS_NODE24 to a Node >= 22.15 binary)' : ''}`, async () => {
      const login = makeFakeCredentials();
      const { found, header, cliPid } = await scan(node as string, ['--user', `${WORKER.uid}:${WORKER.gid}`], { CLAUDE_CREDENTIALS_B64: login.base64 });
      expect(header).toMatch(new RegExp(`uid ${WORKER.uid} gid ${WORKER.gid} groups ${WORKER.gid}$`));
      if (execs) expect(header).toMatch(new RegExp(`^pid ${cliPid} `));
      const forbidden = sightings(found, { CLAUDE_CREDENTIALS_B64: `CLAUDE_CREDENTIALS_B64=${login.base64}` });
      figure(`isolation: plain wrapper, ${label}, --user`, { replaced_by_the_command: execs, forbidden_found: Object.keys(forbidden).length });
      expect(forbidden).toEqual({});
      expect(sightings(found, { refreshToken: login.refreshToken })).toEqual({ refreshToken: [expect.stringMatching(/\.credentials\.json$/)] });
    });

    test.skipIf(node === undefined)(`without --user: ${execs ? 'no process holds CLAUDE_CREDENTIALS_B64 once the command runs in claude-creds\' place' : 'the worker can read CLAUDE_CREDENTIALS_B64 from claude-creds, its parent (the documented hole)'}`, async () => {
      const login = makeFakeCredentials();
      const { found, header, cliPid } = await scan(node as string, [], { CLAUDE_CREDENTIALS_B64: login.base64 });
      const forbidden = sightings(found, { CLAUDE_CREDENTIALS_B64: `CLAUDE_CREDENTIALS_B64=${login.base64}` });
      figure(`isolation: plain wrapper, ${label}, same uid`, { worker_is_claude_creds_pid: header.startsWith(`pid ${cliPid} `), b64_found_in: (forbidden.CLAUDE_CREDENTIALS_B64 ?? ['nowhere']).join(' ') });
      if (execs) {
        expect(header).toMatch(new RegExp(`^pid ${cliPid} `));
        expect(forbidden).toEqual({});
      } else {
        expect(header).toMatch(new RegExp(`ppid ${cliPid} `));
        expect(forbidden.CLAUDE_CREDENTIALS_B64).toContain(`/proc/${cliPid}/environ`);
      }
    });
  });
});
