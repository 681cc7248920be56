// Runs test/node/** alone (until vitest.config.ts has a `node` project):
//   npx vitest run -c test/node/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'node',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/node/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
});
