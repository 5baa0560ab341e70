import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";

/**
 * How a queue's patches are applied: `git apply` (exact, for git format-patch queues), or GNU patch
 * the way quilt and dpkg-source apply a quilt series (no fuzz; `Binary files differ` entries, which
 * carry no data, are left alone instead of failing the patch).
 */
export type PatchTool = "git" | "patch";
export const PATCH_TOOLS: readonly PatchTool[] = ["git", "patch"];

/** One patch of a queue: its name (for messages and commit subjects), text, strip level and tool. */
export interface Patch {
  readonly name: string;
  readonly file: string;
  readonly content: Buffer;
  readonly strip: number;
  readonly tool: PatchTool;
}

/** A quilt series line: `name [-pN]`, `#` comments. */
function parseSeries(text: string, file: string): Array<{ name: string; strip: number }> {
  const out: Array<{ name: string; strip: number }> = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    const [name, ...opts] = line.split(/\s+/);
    let strip = 1;
    for (const o of opts) {
      const m = /^-p(\d+)$/.exec(o);
      if (m) strip = Number(m[1]);
      else throw new UserError(`${file}:${i + 1}: unsupported option ${JSON.stringify(o)} for ${name}.`, "xqbuild applies series entries of the form NAME [-pN].");
    }
    out.push({ name: name as string, strip });
  });
  return out;
}

/**
 * A component's patch queue: a directory with an optional quilt `series` file (else every *.patch
 * and *.diff in name order), or an explicit list of files. A quilt series is applied with GNU patch,
 * as quilt does, anything else with `git apply`, unless `tool` says otherwise.
 */
export function loadPatchQueue(spec: string | readonly string[] | undefined, what: string, tool?: PatchTool): Patch[] {
  if (spec === undefined) return [];
  const isSeries = typeof spec === "string" && existsSync(path.join(spec, "series"));
  const using: PatchTool = tool ?? (isSeries ? "patch" : "git");
  const read = (file: string, name: string, strip: number): Patch => {
    try {
      return { name, file, content: readFileSync(file), strip, tool: using };
    } catch {
      throw new UserError(`${what}: the patch ${file} cannot be read.`, "Check the patches setting of the xqbuild config file.");
    }
  };
  if (typeof spec !== "string") return spec.map((f) => read(f, path.basename(f), 1));
  if (!existsSync(spec) || !statSync(spec).isDirectory()) {
    throw new UserError(`${what}: the patch directory ${spec} does not exist.`, "Check the patches setting of the xqbuild config file.");
  }
  const series = path.join(spec, "series");
  if (existsSync(series)) return parseSeries(readFileSync(series, "utf8"), series).map((e) => read(path.join(spec, e.name), e.name, e.strip));
  return readdirSync(spec)
    .filter((f) => /\.(patch|diff)$/.test(f))
    .sort()
    .map((f) => read(path.join(spec, f), f, 1));
}

/** The queue's identity: names, strip levels and contents, in order. */
export function patchQueueHash(patches: readonly Patch[]): string {
  const h = createHash("sha256");
  for (const p of patches) h.update(`${p.name}\0${p.strip}\0${p.tool}\0${p.content.length}\0`).update(p.content);
  return h.digest("hex");
}
