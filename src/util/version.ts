import { readFileSync } from "node:fs";

/** xqbuild's version, from its package.json. */
export function xqbuildVersion(): string {
  // src/util/ under vitest, dist/src/util/ once compiled.
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "xqbuild" && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return "unknown";
}
