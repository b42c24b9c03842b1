/** The claude-creds executable: everything is in src/cli; this file only starts it. */
import { main } from './cli/main.js';

await main(process.argv);
