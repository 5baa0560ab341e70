import { accessSync, constants } from "node:fs";
import path from "node:path";

/** Where a program is, as the shell would find it: a path with a slash as given, else on PATH. */
export function onPath(name: string, env: Readonly<Record<string, string>>): string | undefined {
  const executable = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes("/")) return executable(name) ? name : undefined;
  for (const dir of (env.PATH ?? "").split(":")) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}
