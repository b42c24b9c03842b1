// The floor for an env fetch on Node: decode, validate, atomic write, one log line. No CLI, no locks,
// no libraries; what `npm run bench` compares claude-creds against besides `node -e 0`.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const out = process.argv[2];
const text = Buffer.from(process.env.CLAUDE_CREDENTIALS_B64 ?? '', 'base64').toString('utf8');
const oauth = JSON.parse(text).claudeAiOauth;
if (typeof oauth?.accessToken !== 'string' || typeof oauth.refreshToken !== 'string' || typeof oauth.expiresAt !== 'number') {
  process.stderr.write('{"level":50,"msg":"not a credentials document"}\n');
  process.exit(65);
}
mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
writeFileSync(`${out}.tmp`, text, { mode: 0o600 });
renameSync(`${out}.tmp`, out);
process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'credentials written', path: out })}\n`);
