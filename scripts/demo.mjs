#!/usr/bin/env node
// A local demo with no cloud account: a fake login is pushed to a file store (standing in for an NFS
// share or a secret manager), then a "worker" is started through `claude-creds -- <command>`, and the
// command shows that the credentials arrived, 0600, while the secret never entered its environment.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../bin/claude-creds.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'claude-creds-demo-'));
const laptop = join(root, 'laptop', '.claude');
const store = join(root, 'shared-volume', 'claude', 'credentials.json');
const workerConfig = join(root, 'worker', '.claude');
mkdirSync(laptop, { recursive: true });

const demoToken = (kind) => `sk-ant-${kind}01-DEMO-FAKE-${Math.random().toString(36).slice(2)}`;
const login = {
  claudeAiOauth: {
    accessToken: demoToken('oat'),
    refreshToken: demoToken('ort'),
    expiresAt: Date.now() + 8 * 3600_000,
    scopes: ['user:inference', 'user:profile', 'user:sessions:claude_code'],
    subscriptionType: 'max',
  },
};
writeFileSync(join(laptop, '.credentials.json'), JSON.stringify(login), { mode: 0o600 });

const env = { ...process.env, CLAUDE_CREDS_LOG_FORMAT: process.env.CLAUDE_CREDS_LOG_FORMAT ?? 'pretty' };
function step(title, args, extraEnv = {}) {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n$ claude-creds ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', env: { ...env, ...extraEnv } });
  if (result.status !== 0) {
    process.stderr.write(`demo step failed with exit code ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
}

process.stdout.write(`claude-creds demo in ${root} (fake credentials, no cloud)\n`);
step('1. After `claude login` on a laptop: push the login to the shared store', [
  'push', '--provider', 'file', '--secret', store, '--from', join(laptop, '.credentials.json'),
]);

const workerScript = `
  const fs = require('node:fs');
  const path = process.env.CLAUDE_CONFIG_DIR + '/.credentials.json';
  const mode = (fs.statSync(path).mode & 0o777).toString(8);
  const dirMode = (fs.statSync(process.env.CLAUDE_CONFIG_DIR).mode & 0o777).toString(8);
  const doc = JSON.parse(fs.readFileSync(path, 'utf8'));
  console.log('[worker] credentials file: ' + path);
  console.log('[worker] mode ' + mode + ', directory mode ' + dirMode);
  console.log('[worker] expires ' + new Date(doc.claudeAiOauth.expiresAt).toISOString() + ', subscription ' + doc.claudeAiOauth.subscriptionType);
  console.log('[worker] CLAUDE_CREDS_SECRET in my environment: ' + ('CLAUDE_CREDENTIALS_B64' in process.env ? 'yes' : 'no (stripped)'));
  process.exit(mode === '600' ? 0 : 1);
`;
step(
  '2. A worker container starts through the wrapper: fetch, then run the command',
  ['--provider', 'file', '--secret', store, '--', process.execPath, '-e', workerScript],
  { CLAUDE_CONFIG_DIR: workerConfig, CLAUDE_CREDENTIALS_B64: Buffer.from(JSON.stringify(login)).toString('base64') },
);

step('3. Health check of the worker\'s file', ['status'], { CLAUDE_CONFIG_DIR: workerConfig });
process.stdout.write(`\nDone. Everything is under ${root}; remove it with: rm -rf ${root}\n`);
