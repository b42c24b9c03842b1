// Preloaded into every process the benchmark times (the baseline `node -e 0` too, so both pay the same):
// on exit, writes the process's peak resident set size in KiB to $BENCH_RSS_FILE.
import { writeFileSync } from 'node:fs';

const target = process.env.BENCH_RSS_FILE;
if (target) {
  process.on('exit', () => {
    try {
      writeFileSync(target, String(process.resourceUsage().maxRSS));
    } catch {}
  });
}
