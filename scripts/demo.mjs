#!/usr/bin/env node
// A local demo with no cloud account: a fake login is pushed to a file store (standing in for an NFS
// share or a secret manager), then a "worker" is started through `claude-creds -- <command>`, and the
// command shows that the credentials arrived, 0600, while the login never entered its environment.
// Colour only on a terminal, and never with NO_COLOR set: the output may be piped into a file or a log.
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

const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
const bold = (text) => (color ? `\x1b[1m${text}\x1b[0m` : text);
// Readable logs (pretty) either way; without colour, pino-pretty is told so by NO_COLOR.
const env = { ...process.env, ...(color ? {} : { NO_COLOR: '1' }) };
const logFormat = ['--log-format', process.env.CLAUDE_CREDS_LOG_FORMAT ?? 'pretty'];
function step(title, args, extraEnv = {}) {
  const shown = args.map((arg) => (arg.includes('\n') ? "'<worker script: checks its file and its environment>'" : arg));
  process.stdout.write(`\n${bold(`== ${title}`)}\n$ claude-creds ${shown.join(' ')}\n`);
  // The flag goes after the command's name, or first for the wrapper (whose words after -- are the worker's).
  const flags = args[0]?.startsWith('-') ? [...logFormat, ...args] : [args[0], ...logFormat, ...args.slice(1)];
  const result = spawnSync(process.execPath, [cli, ...flags], { stdio: 'inherit', env: { ...env, ...extraEnv } });
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
  // What the worker can check for itself: no variable that carries a login, no token value anywhere in its environment.
  const carriers = Object.keys(process.env).filter((name) => /^CLAUDE_CREDENTIALS_/.test(name));
  const tokens = [doc.claudeAiOauth.accessToken, doc.claudeAiOauth.refreshToken];
  const holding = Object.keys(process.env).filter((name) => tokens.some((token) => String(process.env[name]).includes(token)));
  console.log('[worker] CLAUDE_CREDENTIALS_B64 (given to the wrapper) in my environment: ' + (carriers.length === 0 ? 'no (stripped)' : 'yes: ' + carriers.join(', ')));
  console.log('[worker] variables holding a token value: ' + (holding.length === 0 ? 'none' : holding.join(', ')));
  process.exit(mode === '600' && carriers.length === 0 && holding.length === 0 ? 0 : 1);
`;
step(
  '2. A worker starts through the wrapper (file provider; the wrapper is also given the login in CLAUDE_CREDENTIALS_B64, which the worker must not see)',
  ['--provider', 'file', '--secret', store, '--', process.execPath, '-e', workerScript],
  { CLAUDE_CONFIG_DIR: workerConfig, CLAUDE_CREDENTIALS_B64: Buffer.from(JSON.stringify(login)).toString('base64') },
);

step('3. Health check of the worker\'s file', ['status'], { CLAUDE_CONFIG_DIR: workerConfig });
process.stdout.write(`\nDone. Everything is under ${root}; remove it with: rm -rf ${root}\n`);
