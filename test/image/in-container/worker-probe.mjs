// The worker a check runs through the image's wrapper: it reports what it can see (never a value of
// the environment, only the names) as one JSON line, then exits with the code it was given.
import { readFileSync, readdirSync, statSync } from 'node:fs';

// A process listed in /proc may be gone by the time it is read: null, not a crash.
const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
};
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
// Every process in the container's PID namespace, so a check can say what runs beside the worker.
const processes = readdirSync('/proc')
  .filter((name) => /^\d+$/.test(name))
  .map((pid) => ({ pid: Number(pid), cmdline: cmdline(pid) }))
  .filter((entry) => entry.cmdline !== null && entry.cmdline.length > 0);
console.log(
  JSON.stringify({
    uid: process.getuid(),
    gid: process.getgid(),
    groups: process.getgroups(),
    envNames: Object.keys(process.env).sort(),
    pid: process.pid,
    ppid: process.ppid,
    pid1: cmdline(1),
    processes,
    credentials: { mode: stat.mode & 0o777, uid: stat.uid, gid: stat.gid },
    pid1Environ: readable('/proc/1/environ'),
  }),
);
process.exit(Number(process.argv[2] ?? 0));
