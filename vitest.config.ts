import { defineConfig } from "vitest/config";

export const config = defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/faults runs on its own (npm run test:faults, vitest.faults.config.ts): over 3 minutes
    // when run one file at a time as here.
    exclude: ["test/e2e/**", "test/faults/**"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    // build-cli compiles dist/ once (and fails the run if it does not compile) for the files that run the CLI.
    globalSetup: ["test/support/temp-root.ts", "test/support/build-cli.ts"]
  }
});
// vitest loads the default export of its config file.
export default config;
