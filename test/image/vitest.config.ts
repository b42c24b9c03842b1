import { defineConfig } from 'vitest/config';

// `npm run test:image` (scripts/image/test-image.sh) builds the image, then runs these checks. They are
// *.check.ts, not *.test.ts, so `npm test` (which runs where there is no podman) never picks them up.
export default defineConfig({
  test: {
    include: ['test/image/**/*.check.ts'],
    setupFiles: ['test/support/guard-setup.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // One file at a time: the stop timings are measured on a machine that is otherwise quiet.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
