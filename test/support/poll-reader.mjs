// A separate process that reads a file as fast as it can until told to stop (SIGTERM), and reports how
// many reads it made and how many saw something that was not one of the complete documents.
import { readFileSync } from 'node:fs';

const [path] = process.argv.slice(2);
let reads = 0;
let torn = 0;
let missing = 0;
let stop = false;
process.on('SIGTERM', () => (stop = true));
const report = () => process.stdout.write(`${JSON.stringify({ reads, torn, missing })}\n`);

function loop() {
  for (let i = 0; i < 200 && !stop; i += 1) {
    let text;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      missing += 1;
      continue;
    }
    reads += 1;
    try {
      const doc = JSON.parse(text);
      if (typeof doc?.claudeAiOauth?.accessToken !== 'string' || doc.claudeAiOauth.accessToken === '') torn += 1;
    } catch {
      torn += 1;
    }
  }
  if (stop) report();
  else setImmediate(loop);
}
process.stdout.write('ready\n');
loop();
