import { defineConfig } from "vitest/config";

export const config = defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks"
  }
});
// vitest loads the default export of its config file.
export default config;
