import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends every test run with the plain line CI reads: `N passed, N failed, N skipped`.
 * A module that failed to load, or a suite whose hook failed (a browser that would not
 * launch in `beforeAll`), counts as one failure: its tests are reported skipped, and the
 * line must not read as if nothing failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      for (const suite of [module, ...module.children.allSuites()]) if (suite.errors().length > 0) failed++;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
