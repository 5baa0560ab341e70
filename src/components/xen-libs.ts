import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { XEN_LIBS } from "./qemu-xen/requirements.js";

function pkgConfigVersions(env: Readonly<Record<string, string>>): Promise<string> {
  return new Promise((resolve) => {
    execFile("pkg-config", ["--modversion", ...XEN_LIBS], { env, timeout: 10_000 }, (err, stdout) => resolve(err ? "missing" : stdout.trim()));
  });
}

/**
 * What both device models' installed files depend on beyond their own arguments: the Xen libraries
 * they link (their versions as pkg-config reports them in configure's environment, and the .pc files
 * of the tree's tools/pkg-config). Part of their artifact keys (Recipe.artifactInputs).
 */
export async function xenLibsInputs(input: { readonly xenRoot: string; readonly env: Readonly<Record<string, string>> }): Promise<unknown> {
  const pcDir = path.join(input.xenRoot, "tools", "pkg-config");
  const pcFiles: Record<string, string> = {};
  if (existsSync(pcDir)) for (const f of readdirSync(pcDir).sort()) pcFiles[f] = createHash("sha256").update(readFileSync(path.join(pcDir, f))).digest("hex");
  return { versions: await pkgConfigVersions(input.env), pcFiles };
}
