import { defineConfig } from "vitest/config";

// The real end-to-end test (npm run test:e2e): real QEMU and SeaBIOS built by xqbuild from a fake
// xenbits on loopback. One file, its steps in order, minutes each.
export const config = defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    testTimeout: 40 * 60_000,
    hookTimeout: 40 * 60_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["verbose"]
  }
});
// vitest loads the default export of its config file.
export default config;
