// The CLI compiled by the globalSetup test/support/build-cli.ts, for the test files that run it.
import { inject } from "vitest";
import "./build-cli.js";

/**
 * dist/src/cli/main.js as the globalSetup compiled it from the current sources. Fails (rather than
 * falling back to whatever dist/ holds) when the file runs under a config without that globalSetup.
 */
export function cliPath(): string {
  const cli = inject("xqbuildCli");
  if (typeof cli !== "string" || cli === "") throw new Error("no compiled CLI: run this file with vitest.config.ts, whose globalSetup test/support/build-cli.ts compiles it");
  return cli;
}
