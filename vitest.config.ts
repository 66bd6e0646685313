import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// A pipeline module imports pbx's API as 'pbx' (the binary provides it): tests that load one find it here.
const resolve = {
  alias: [{ find: /^pbx$/, replacement: fileURLToPath(new URL('src/pipelines/api.ts', import.meta.url)) }],
};

// Three suites: unit (pure logic, no services), integration (a real Docker engine and real services),
// e2e (the compiled dist/pbx). scripts/test.sh prepares what the last two need.
export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/commands/**/*.test.ts'],
          // Not a speed limit: on two cores shared with the services, a WebAssembly compile or a child process can
          // take several seconds of waiting for the CPU (vitest's 5 s failed tests that were right).
          testTimeout: 30_000,
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 300_000,
          // Services are heavy on a 2-core machine: one file at a time.
          fileParallelism: false,
        },
      },
      {
        resolve,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
