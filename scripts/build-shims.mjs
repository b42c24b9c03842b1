// Injected by scripts/build.mjs into the bundle: CommonJS packages read `__dirname` and `__filename`,
// which do not exist in an ES module. They point into dist/ (no bundled package may read files beside
// itself at run time: the bundle test runs every provider from a directory holding only dist/).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const __filename = fileURLToPath(import.meta.url);
const __dirname = dirname(__filename);

export { __dirname, __filename };
