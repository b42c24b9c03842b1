/**
 * A writer process for the crash and file-mode tests, run as plain node after bundling (see
 * bundleWriterChild). It uses the real writeFileAtomic.
 *
 *   crash <target> <trial>   print "go", then write writeContent(trial, 1), (trial, 2), ... until killed
 *   count <target> <n>       under umask 0, write n different contents, print "done <n>", exit
 */
import { writeFileAtomic } from '../../src/io/atomic-write.js';
import { writeContent } from './write-content.js';

const [mode, target, number] = process.argv.slice(2);
if (target === undefined || number === undefined) throw new Error('usage: writer-child crash|count <target> <number>');

if (mode === 'crash') {
  const trial = Number(number);
  process.stdout.write('go\n');
  for (let index = 1; ; index += 1) await writeFileAtomic(target, writeContent(trial, index));
} else {
  // umask 0: a temp file created with a wider mode and narrowed later would show it, instead of the
  // umask hiding the window.
  process.umask(0);
  const count = Number(number);
  for (let index = 1; index <= count; index += 1) await writeFileAtomic(target, writeContent(0, index));
  process.stdout.write(`done ${count}\n`);
}
