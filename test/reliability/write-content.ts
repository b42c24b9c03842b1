/**
 * The content of write number `index` in crash trial `trial`: sizes vary from 1 KiB to ~200 KiB so a
 * kill lands in every phase of a write, and each content is fully determined by (trial, index), so a
 * torn or mixed file cannot pass for a complete one. Shared by the writer child and the test.
 */
export function writeContent(trial: number, index: number): string {
  const size = 1024 + ((index * 7919 + trial * 104_729) % 200_000);
  const head = `{"trial":${trial},"index":${index},"pad":"`;
  const fill = String.fromCharCode(97 + ((trial + index) % 26)).repeat(size);
  return `${head}${fill}"}`;
}

/** The (trial, index) a file claims to be, read from its head only; undefined when even that is garbage. */
export function claimedWrite(text: string): { trial: number; index: number } | undefined {
  const match = /^\{"trial":(\d+),"index":(\d+),"pad":"/.exec(text);
  return match ? { trial: Number(match[1]), index: Number(match[2]) } : undefined;
}
