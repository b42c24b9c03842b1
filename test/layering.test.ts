import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/**
 * The source tree's layers, lowest first. A module may import from its own layer or any layer below it,
 * never from above: the sync engine must not reach into the commands, the core must not reach into I/O.
 */
const LAYERS: ReadonlyArray<readonly [layer: string, rank: number]> = [
  ['core', 0],
  ['io', 1],
  ['providers', 2],
  ['oauth', 2],
  ['store', 3],
  ['sync', 4],
  ['commands', 5],
  ['cli', 6],
  ['entrypoint.ts', 7],
];

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function layerOf(path: string): readonly [string, number] {
  const top = relative(SRC, path).split('/')[0] ?? '';
  const found = LAYERS.find(([name]) => name === top);
  if (found === undefined) throw new Error(`${relative(SRC, path)} is in no layer: add its directory to LAYERS`);
  return found;
}

/** Relative imports (static, dynamic and `import type`), resolved to the file they name. */
function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1] as string);
  return specifiers.filter((spec) => !spec.endsWith('.json')).map((spec) => resolve(dirname(path), spec.replace(/\.js$/, '.ts')));
}

const files = sourceFiles(SRC);

describe('source layers', () => {
  test('every source file belongs to a layer', () => {
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) expect(() => layerOf(file)).not.toThrow();
  });

  test.each(files.map((file) => [relative(SRC, file), file]))('%s imports nothing from a layer above its own', (_name, file) => {
    const [layer, rank] = layerOf(file);
    const upward = importsOf(file)
      .map((target) => [relative(SRC, target), ...layerOf(target)] as const)
      .filter(([, , targetRank]) => targetRank > rank)
      .map(([target, targetLayer]) => `${target} (${targetLayer} is above ${layer})`);
    expect(upward).toEqual([]);
  });

  test.each(files.filter((file) => layerOf(file)[0] === 'core').map((file) => [relative(SRC, file), file]))(
    '%s (core) is pure: no file system, process, network or child-process access',
    (_name, file) => {
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(text).not.toMatch(/from 'node:(fs|fs\/promises|child_process|os|net|http|https|tls|dgram|worker_threads)'/);
      expect(text).not.toMatch(/\bprocess\.(env|argv|exit|cwd|stdout|stderr|on)\b/);
    },
  );

  test.each(files.filter((file) => !['cli', 'entrypoint.ts'].includes(layerOf(file)[0])).map((file) => [relative(SRC, file), file]))(
    '%s does not read argv or the environment (only the CLI does)',
    (_name, file) => {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code).not.toMatch(/process\.(env|argv)\b/);
    },
  );
});
