// Preloaded (--import) into a CLI process whose memory a test measures: on exit, writes the process's
// peak resident set size in KiB (VmHWM of /proc/self/status) to $CLAUDE_CREDS_PEAK_RSS_FILE.
//
// Not process.resourceUsage().maxRSS: on Linux that survives execve, so a child spawned by a large test
// process starts out reporting the parent's size at fork time. VmHWM belongs to the new address space.
import { readFileSync, writeFileSync } from 'node:fs';

const target = process.env.CLAUDE_CREDS_PEAK_RSS_FILE;
if (target) {
  process.on('exit', () => {
    try {
      const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      if (kb !== undefined) writeFileSync(target, kb);
    } catch {}
  });
}
