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
    globalSetup: ["test/support/temp-root.ts"]
  }
});
// vitest loads the default export of its config file.
export default config;
