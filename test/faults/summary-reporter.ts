// The last line of `npm run test:faults`: how many fault cases held and how many did not.
import type { Reporter, SerializedError, TestModule } from "vitest/node";

export class FaultSummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      let failedHere = 0;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failedHere++;
        else skipped++;
      }
      // A file that failed outside its cases (a failed beforeAll or afterAll, a syntax error) counts as one failure.
      failed += failedHere + (failedHere === 0 && m.state() === "failed" ? 1 : 0);
    }
    failed += unhandledErrors.length;
    if (skipped > 0) process.stdout.write(`faults: ${skipped} skipped\n`);
    process.stdout.write(`faults: ${passed} passed, ${failed} failed\n`);
  }
}
