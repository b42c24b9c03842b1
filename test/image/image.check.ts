/**
 * The image as an operator meets it, checked from outside through podman (`npm run test:image` builds it
 * first): what it is, the README's init-container and entrypoint forms, the wrapper seen from the
 * worker, `fetch --owner` as root, and its size.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { makeFakeCredentials } from '../support/fake-credentials.js';
import { IMAGE, NODE_MAJOR, Resources, podman, podmanOk, volumePath } from './podman.js';
import { adapt, readmeForms, type Form } from './readme-forms.js';

const PROBE_DIR = join(import.meta.dirname, 'in-container');
const resources = new Resources();
const forms = readmeForms();
const form = (name: Form['name']) => forms.find((item) => item.name === name) as Form;

interface Probe {
  uid: number;
  gid: number;
  groups: number[];
  envNames: string[];
  pid: number;
  ppid: number;
  pid1: string[];
  processes: Array<{ pid: number; cmdline: string[] }>;
  credentials: { mode: number; uid: number; gid: number };
  pid1Environ: string;
}

const probeLine = (stdout: string): Probe => JSON.parse(stdout.trim().split('\n').at(-1) as string) as Probe;

beforeAll(async () => {
  const exists = await podman(['image', 'exists', IMAGE]);
  if (exists.code !== 0) throw new Error(`no image ${IMAGE}: run \`npm run test:image\`, which builds it before these checks`);
});
afterAll(() => resources.cleanUp());

describe(`the image ${IMAGE}`, () => {
  test('runs as node (uid 1000) with tini from Debian as PID 1, its labels name the package version, /claude is the default config dir', async () => {
    const [config] = JSON.parse(await podmanOk(['image', 'inspect', IMAGE])) as Array<{ Config: Record<string, unknown> }>;
    expect(config?.Config.User).toBe('node');
    expect(config?.Config.Entrypoint).toEqual(['/usr/bin/tini', '--', 'node', '/opt/claude-creds/claude-creds.mjs']);
    expect(config?.Config.Cmd).toEqual(['--help']);
    expect(config?.Config.Env).toContain('CLAUDE_CONFIG_DIR=/claude');
    const labels = config?.Config.Labels as Record<string, string>;
    expect(labels['org.opencontainers.image.version']).toBe(packageJson.version);
    expect(labels['org.opencontainers.image.title']).toBe('claude-creds');
  });

  test(`holds Node ${NODE_MAJOR}, tini from Debian's package, /claude owned by node 0700, and no npm, npx or node_modules`, async () => {
    const script = [
      'node --version',
      "dpkg-query -W -f '${Package} ${Status}\\n' tini",
      'stat -c "%U:%G %a" /claude',
      'command -v npm npx corepack yarn || echo no-package-manager',
      'find / -xdev -name node_modules -print 2>/dev/null | head -3; echo end',
    ].join('; ');
    const out = (await podmanOk(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', IMAGE, '-c', script])).trim().split('\n');
    expect(out[0]).toMatch(new RegExp(`^v${NODE_MAJOR}\\.`));
    expect(out[1]).toBe('tini install ok installed');
    expect(out[2]).toBe('node:node 700');
    expect(out[3]).toBe('no-package-manager');
    expect(out.slice(4)).toEqual(['end']);
  });

  test('--version prints the package version (the image\'s ENTRYPOINT is claude-creds)', async () => {
    const result = await podman(['run', '--rm', '--network', 'none', IMAGE, '--version']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
  });

  test('size: the layers above the Node base hold only the bundle and tini (printed for the record)', async () => {
    const inspect = async (image: string) => JSON.parse(await podmanOk(['image', 'inspect', image])) as Array<{ Size: number; RootFS: { Layers: string[] } }>;
    const [image] = await inspect(IMAGE);
    const [base] = await inspect(`docker.io/library/node:${NODE_MAJOR}-bookworm-slim`);
    expect(image?.RootFS.Layers.slice(0, base?.RootFS.Layers.length)).toEqual(base?.RootFS.Layers);
    const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
    const added = (image?.Size ?? 0) - (base?.Size ?? 0);
    console.log(JSON.stringify({ image: IMAGE, imageMB: mb(image?.Size ?? 0), baseMB: mb(base?.Size ?? 0), addedMB: mb(added) }));
    // The bundle is ~3 MB and tini under 1 MB: anything near this bound means something else got in.
    expect(added).toBeLessThan(12e6);
  });
});

describe('the README forms', () => {
  test('the container section leads with the init container, the entrypoint and the sidecar, in that order', () => {
    expect(forms.map((item) => item.name)).toEqual(['init', 'entrypoint', 'sidecar']);
  });

  test('init container: the README\'s `docker run ... fetch` writes the file into the named volume, 0600 and uid 1000 seen from the host', async () => {
    const login = makeFakeCredentials();
    const volume = resources.volume('init');
    const result = await podman(adapt(form('init'), { network: 'none', rename: { claude: volume } }), { env: { CLAUDE_CREDENTIALS_B64: login.base64 } });
    expect(result.code, result.stderr).toBe(0);
    const dir = await volumePath(volume);
    const file = join(dir, '.credentials.json');
    expect(readFileSync(file, 'utf8')).toBe(login.json);
    expect({ mode: statSync(file).mode & 0o777, uid: statSync(file).uid, gid: statSync(file).gid }).toEqual({ mode: 0o600, uid: 1000, gid: 1000 });
    expect({ mode: statSync(dir).mode & 0o777, uid: statSync(dir).uid }).toEqual({ mode: 0o700, uid: 1000 });
  });

  test('entrypoint: the README\'s `docker run ... -- sh -c ...` line shows the worker as node, the file 0600', async () => {
    const login = makeFakeCredentials();
    const result = await podman(adapt(form('entrypoint'), { network: 'none' }), { env: { CLAUDE_CREDENTIALS_B64: login.base64 } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('uid=1000(node) gid=1000(node)');
    expect(result.stdout).toMatch(/^-rw------- 1 node node \d+ .* \/claude\/\.credentials\.json$/m);
  });
});

describe('the wrapper, seen from the worker', () => {
  const probe = (args: readonly string[], env: Record<string, string>) =>
    podman(['run', '--rm', '--network', 'none', '-v', `${PROBE_DIR}:/probe:ro`, ...args], { env });

  test('the worker runs as uid 1000 as tini\'s child (claude-creds handed its process over), without the secret\'s variable, and its exit code comes back', async () => {
    const login = makeFakeCredentials();
    const result = await probe(['-e', 'CLAUDE_CREDENTIALS_B64', IMAGE, '--', 'node', '/probe/worker-probe.mjs', '7'], { CLAUDE_CREDENTIALS_B64: login.base64 });
    expect(result.code, result.stderr).toBe(7);
    const seen = probeLine(result.stdout);
    expect({ uid: seen.uid, gid: seen.gid }).toEqual({ uid: 1000, gid: 1000 });
    expect(seen.pid1).toEqual(['/usr/bin/tini', '--', 'node', '/opt/claude-creds/claude-creds.mjs', '--', 'node', '/probe/worker-probe.mjs', '7']);
    // Node 24 has process.execve: claude-creds hands its process over to the worker, so the worker is
    // tini's child itself and nothing of claude-creds (which held the secret) runs beside it.
    expect(seen.ppid).toBe(1);
    expect(seen.processes.map((entry) => entry.pid).sort((a, b) => a - b)).toEqual([1, seen.pid]);
    expect(seen.envNames).not.toContain('CLAUDE_CREDENTIALS_B64');
    expect(seen.envNames).toContain('CLAUDE_CONFIG_DIR');
    expect(seen.credentials).toEqual({ mode: 0o600, uid: 1000, gid: 1000 });
  });

  test('`run --user 1000:1000` from a root container: the worker runs as uid 1000 with its groups dropped', async (context) => {
    const help = await podman(['run', '--rm', '--network', 'none', IMAGE, 'run', '--help']);
    if (!/^\s+--user\b/m.test(help.stdout)) {
      console.log('SKIPPED: `claude-creds run --help` does not list --user (issue 13 has not landed), so this check has nothing to run');
      context.skip();
    }
    const login = makeFakeCredentials();
    const result = await probe(
      ['--user', '0:0', '--group-add', '27', '-e', 'CLAUDE_CREDENTIALS_B64', IMAGE, 'run', '--user', '1000:1000', '--', 'node', '/probe/worker-probe.mjs', '3'],
      { CLAUDE_CREDENTIALS_B64: login.base64 },
    );
    expect(result.code, result.stderr).toBe(3);
    const seen = probeLine(result.stdout);
    expect({ uid: seen.uid, gid: seen.gid, groups: seen.groups }).toEqual({ uid: 1000, gid: 1000, groups: [1000] });
    expect(seen.envNames).not.toContain('CLAUDE_CREDENTIALS_B64');
    // The point of another uid: root's processes (which started with the secret) are out of its reach.
    expect(seen.pid1Environ).toBe('EACCES');
  });
});

describe('fetch onto a directory that belongs to root', () => {
  test('as node it is refused (exit 73, nothing written); `--user 0 ... fetch --owner 1000:1000` writes it for uid 1000', async () => {
    const login = makeFakeCredentials();
    const dir = resources.dir();
    chmodSync(dir, 0o755);
    expect(statSync(dir).uid).toBe(0);
    const env = { CLAUDE_CREDENTIALS_B64: login.base64 };
    const asNode = await podman(['run', '--rm', '--network', 'none', '-e', 'CLAUDE_CREDENTIALS_B64', '-v', `${dir}:/claude`, IMAGE, 'fetch'], { env });
    expect(asNode.code).toBe(73);
    expect(existsSync(join(dir, '.credentials.json'))).toBe(false);
    const asRoot = await podman(['run', '--rm', '--network', 'none', '--user', '0', '-e', 'CLAUDE_CREDENTIALS_B64', '-v', `${dir}:/claude`, IMAGE, 'fetch', '--owner', '1000:1000'], {
      env,
    });
    expect(asRoot.code, asRoot.stderr).toBe(0);
    const file = join(dir, '.credentials.json');
    expect(readFileSync(file, 'utf8')).toBe(login.json);
    expect({ mode: statSync(file).mode & 0o777, uid: statSync(file).uid, gid: statSync(file).gid }).toEqual({ mode: 0o600, uid: 1000, gid: 1000 });
  });
});
