#!/usr/bin/env node
// Builds the self-contained claude-creds in dist/: one ESM entry (dist/claude-creds.mjs) that runs with
// `node` and no node_modules, the provider modules as their own files (dist/providers/*.mjs) so a
// cloud SDK is read from disk only when its provider is chosen, and shared code in dist/chunks/.
//
// Everything is .mjs: dist/ is copied alone into images and worker images, where no package.json says
// "type": "module", and Node 20 would read a .js file there as CommonJS.
//
// Usage: node scripts/build.mjs [--outdir DIR] [--meta FILE] [--quiet]
// --meta writes esbuild's metafile (which input went into which output), kept out of dist/.
import { rmSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: 'string' }, meta: { type: 'string' }, quiet: { type: 'boolean' } } });
const outdir = values.outdir ?? join(root, 'dist');

// CommonJS packages inside an ESM bundle: `require` of Node built-ins and `__dirname`/`__filename` are
// free identifiers there. `require` comes from a per-file banner; the two paths come from an injected
// module (esbuild renames around it, where a banner `const __dirname` could collide with bundled code).
const REQUIRE_BANNER = "import { createRequire as __claudeCredsCreateRequire } from 'node:module';\nconst require = __claudeCredsCreateRequire(import.meta.url);";
const SHIMS = join(root, 'scripts', 'build-shims.mjs');

const started = performance.now();
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    'claude-creds': 'src/entrypoint.ts',
    // Entries of their own so each provider (and its SDK) is a named file loaded on demand.
    'providers/env': 'src/providers/env/index.ts',
    'providers/file': 'src/providers/file/index.ts',
    'providers/aws': 'src/providers/aws/index.ts',
    'providers/gcp': 'src/providers/gcp/index.ts',
    'providers/azure': 'src/providers/azure/index.ts',
    'providers/vault': 'src/providers/vault/index.ts',
    'providers/kubernetes': 'src/providers/kubernetes/index.ts',
  },
  outdir,
  bundle: true,
  splitting: true,
  // See scripts/stubs/thread-stream.cjs: pino's transport machinery, which claude-creds never uses.
  alias: { 'thread-stream': join(root, 'scripts', 'stubs', 'thread-stream.cjs') },
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The SDKs publish "node" + "import"/"require" conditions; prefer their ESM builds where they exist.
  mainFields: ['module', 'main'],
  conditions: ['node', 'import'],
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  // No keepNames: its per-function name bookkeeping ran on every start (docs/performance.md). Stack
  // traces are never shown to users (one-line errors), and each error class names itself as a string.
  keepNames: false,
  legalComments: 'external',
  banner: { js: REQUIRE_BANNER },
  inject: [SHIMS],
  metafile: true,
  logLevel: 'warning',
});

const entry = join(outdir, 'claude-creds.mjs');
writeFileSync(entry, `#!/usr/bin/env node\n${readFileSync(entry, 'utf8')}`);
chmodSync(entry, 0o755);
if (values.meta !== undefined) writeFileSync(values.meta, JSON.stringify(result.metafile));

if (!values.quiet) {
  const outputs = Object.entries(result.metafile.outputs)
    .filter(([file]) => file.endsWith('.mjs'))
    .map(([file, info]) => [relative(outdir, join(root, file)), info.bytes]);
  const total = outputs.reduce((sum, [, bytes]) => sum + bytes, 0);
  const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`.padStart(9);
  for (const [file, bytes] of outputs.sort((a, b) => b[1] - a[1]).slice(0, 12)) process.stdout.write(`${kb(bytes)}  ${file}\n`);
  process.stdout.write(`${kb(total)}  total in ${outputs.length} files, ${(performance.now() - started).toFixed(0)} ms -> ${relative(root, outdir) || '.'}\n`);
}
