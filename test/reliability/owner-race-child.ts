/**
 * The write `fetch --owner` makes (src/commands/fetch.ts: writeFileAtomic with the owner), in a loop, for
 * the owner-race test: thousands of attempts a second where the CLI manages five. Run as plain node
 * after bundling (see bundleChild in ./support.ts). Pairs of writes: new content, then the same content
 * again (the "already up to date: settle mode and owner" path).
 *
 *   owner-race-child <target> <uid:gid> <count>   prints one JSON line: {"written","unchanged","refused"}
 */
import { writeFileAtomic } from '../../src/io/atomic-write.js';

const [target, owner, countText] = process.argv.slice(2);
if (target === undefined || owner === undefined || countText === undefined) throw new Error('usage: owner-race-child <target> <uid:gid> <count>');
const [uid, gid] = owner.split(':').map(Number) as [number, number];
const outcomes = { written: 0, unchanged: 0, refused: 0 };
for (let index = 0; index < Number(countText); index += 1) {
  try {
    const result = await writeFileAtomic(target, `{"round":${Math.floor(index / 2)}}\n`, { owner: { uid, gid } });
    outcomes[result] += 1;
  } catch {
    outcomes.refused += 1;
  }
}
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
