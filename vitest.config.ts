import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll gives up after 1 s by default: too little for a browser and a CLI sharing two busy cores.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    setupFiles: ['test/support/language.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
