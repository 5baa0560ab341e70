import { defineConfig } from "vitest/config";
import { FaultSummaryReporter } from "./test/faults/summary-reporter.js";

// `npm run test:faults`: the fault suite alone, ending with one line `faults: N passed, N failed`.
export const config = defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    pool: "forks",
    globalSetup: ["test/support/temp-root.ts"],
    // The cases mostly wait on child processes, servers and timers: three files at a time even on
    // two cores (vitest's default there is one).
    maxWorkers: 3,
    // .ci/run also asks for a JSON report (XQ_FAULTS_JSON) to add the counts to its closing line.
    reporters: process.env.XQ_FAULTS_JSON
      ? ["default", new FaultSummaryReporter(), ["json", { outputFile: process.env.XQ_FAULTS_JSON }]]
      : ["default", new FaultSummaryReporter()],
  },
});
// vitest loads the default export of its config file.
// eslint-disable-next-line no-restricted-syntax
export default config;
