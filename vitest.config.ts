import { defineConfig } from 'vitest/config';

// Two projects: pure/unit suites run in parallel; suites that build network
// namespaces, start real routers or touch the kernel run one file at a time so
// that two of them never compete for the 2 cores and time out on each other.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', 'dist/**', 'test/netns/**', 'test/e2e/**', 'test/chaos/**', '**/*.kernel.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/netns/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/chaos/**/*.test.ts', '**/*.kernel.test.ts'],
          exclude: ['**/node_modules/**', 'dist/**'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
