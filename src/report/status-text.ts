import path from "node:path";
import type { ComponentStatus } from "../engine/status.js";

/** `xqbuild status`'s text: each component's source, pin, tree and stages. */
export function statusText(xenRoot: string, all: readonly ComponentStatus[]): string[] {
  const out: string[] = [];
  for (const s of all) {
    out.push(`${s.name}: ${s.enabled ? "enabled" : "disabled"} (${s.reason})`);
    if (!s.enabled && !s.present) continue;
    out.push(`  source   ${path.relative(xenRoot, s.sourceDir) || s.sourceDir}${s.present ? "" : " (not fetched)"}`);
    if (s.url) out.push(`  wanted   ${s.url} at ${s.wanted || "(default branch)"}`);
    if (s.head) out.push(`  at       ${s.base?.slice(0, 12)}${s.patches.length ? ` + ${s.patches.length} patches (${s.head.slice(0, 12)})` : ""}`);
    if (s.locked) out.push(`  lock     ${s.locked.revision} = ${s.locked.commit.slice(0, 12)}${s.locked.matches ? "" : " (differs from the checkout)"}`);
    if (s.locked?.tagObject) out.push(`  signed   tag object ${s.locked.tagObject}, signed by ${s.locked.signer ?? "?"}`);
    // A pin made before verify was turned on: --locked refuses it, so status says so first.
    else if (s.locked && s.verify) out.push(`  signed   not recorded: this lock entry predates ${s.verify} (fetch --locked refuses it; run xqbuild fetch --update-lock)`);
    if (s.present && s.head) out.push(`  tree     ${s.dirty.length || s.localCommits.length ? `${s.dirty.length} changed files, ${s.localCommits.length} local commits` : "clean"}`);
    for (const [stage, st] of Object.entries(s.stages)) {
      const cached = st === "in the artifact cache" && s.artifact ? `not built in this tree: in the artifact cache (${s.artifact.key.slice(0, 12)}); ${s.artifact.restored ? "install restored it" : "install restores it"}` : st;
      out.push(`  ${stage.padEnd(8)} ${cached}`);
    }
  }
  return out;
}
