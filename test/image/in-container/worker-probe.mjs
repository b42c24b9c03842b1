// The worker a check runs through the image's wrapper: it reports what it can see (never a value of
// the environment, only the names) as one JSON line, then exits with the code it was given.
import { readFileSync, statSync } from 'node:fs';

const cmdline = (pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const readable = (path) => {
  try {
    readFileSync(path);
    return 'readable';
  } catch (error) {
    return error.code;
  }
};
const file = `${process.env.CLAUDE_CONFIG_DIR}/.credentials.json`;
const stat = statSync(file);
const status = (pid) => readFileSync(`/proc/${pid}/status`, 'utf8');
console.log(
  JSON.stringify({
    uid: process.getuid(),
    gid: process.getgid(),
    groups: process.getgroups(),
    envNames: Object.keys(process.env).sort(),
    pid1: cmdline(1),
    parent: cmdline(process.ppid),
    parentOfParent: cmdline(Number(/PPid:\s+(\d+)/.exec(status(process.ppid))?.[1])),
    credentials: { mode: stat.mode & 0o777, uid: stat.uid, gid: stat.gid },
    pid1Environ: readable('/proc/1/environ'),
  }),
);
process.exit(Number(process.argv[2] ?? 0));
