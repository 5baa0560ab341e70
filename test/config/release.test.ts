// The release profiles' per point release data, which the release golden tests (recorded from each
// line's newest point release) do not reach: what Config.mk names at each RELEASE-X.Y.Z tag of
// xen-project/xen, and how --xen-version reads a bare X.Y.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { defaultRevisions, LATEST_POINT, releaseProfile, releaseTraceFlag } from "../../src/config/release.js";
import { parseXenVersionOption } from "../../src/config/xen-tree.js";

/** QEMU_UPSTREAM_REVISION and QEMU_TRADITIONAL_REVISION of Config.mk at each tag. */
const AT_TAG: Record<string, [string, string]> = {
  "4.17.0": ["qemu-xen-4.17.0", "xen-4.17.0"],
  "4.17.1": ["qemu-xen-4.17.1", "xen-4.17.1"],
  "4.17.2": ["qemu-xen-4.17.2", "xen-4.17.1"],
  "4.17.3": ["qemu-xen-4.17.3", "xen-4.17.3"],
  "4.17.7": ["qemu-xen-4.17.3", "xen-4.17.3"],
  "4.18.0": ["qemu-xen-4.18.0", "xen-4.18.0"],
  "4.18.3": ["qemu-xen-4.18.1", "xen-4.18.1"],
  "4.18.4": ["qemu-xen-4.18.4", "xen-4.18.1"],
  "4.18.6": ["qemu-xen-4.18.4", "xen-4.18.1"],
  "4.19.0": ["qemu-xen-4.19.0", "xen-4.19.0"],
  "4.19.5": ["qemu-xen-4.19.1", "xen-4.19.0"],
  "4.20.0": ["qemu-xen-4.20.0", "xen-4.20.0"],
  "4.20.2": ["qemu-xen-4.20.1", "xen-4.20.0"],
  "4.21.1": ["qemu-xen-4.21.0", ""],
  "4.22.0": ["qemu-xen-4.22.0", ""],
};

function revisionsOf(option: string): { qemu: string; traditional: string } {
  const v = parseXenVersionOption(option);
  return defaultRevisions(releaseProfile(v.major, v.minor), v);
}

describe("release profiles, per point release", () => {
  for (const [tag, [qemu, traditional]] of Object.entries(AT_TAG)) {
    it(`--xen-version ${tag}: ${qemu}${traditional ? `, ${traditional}` : ""}`, () => {
      expect(revisionsOf(tag)).toEqual({ qemu, traditional });
    });
  }

  it("a bare X.Y is the line's newest point release; a newer point release than xqbuild knows keeps the line's latest tags", () => {
    expect(parseXenVersionOption("4.20").full).toBe(`4.20.${LATEST_POINT["4.20"]}`);
    expect(parseXenVersionOption("4.20").full).toBe("4.20.4");
    expect(revisionsOf("4.20")).toEqual({ qemu: "qemu-xen-4.20.1", traditional: "xen-4.20.0" });
    expect(revisionsOf("4.20.9")).toEqual({ qemu: "qemu-xen-4.20.1", traditional: "xen-4.20.0" });
    expect(parseXenVersionOption("4.22.1").full).toBe("4.22.1");
  });

  it("master: QEMU's master, debug=y (tools/Rules.mk of a development tree)", () => {
    const v = parseXenVersionOption("master");
    const p = releaseProfile(v.major, v.minor);
    expect(p.id).toBe("master");
    expect(defaultRevisions(p, v).qemu).toBe("master");
    expect(p.debugDefault).toBe("y");
    expect(releaseProfile(4, 22).debugDefault).toBe("n");
  });

  it("the trace flag: --enable-trace-backend in 4.17.0, --enable-trace-backends from 4.17.1", () => {
    expect(releaseTraceFlag(parseXenVersionOption("4.17.0"))).toBe("--enable-trace-backend");
    expect(releaseTraceFlag(parseXenVersionOption("4.17.1"))).toBe("--enable-trace-backends");
    expect(releaseTraceFlag(parseXenVersionOption("4.17"))).toBe("--enable-trace-backends");
    expect(releaseTraceFlag(parseXenVersionOption("4.22"))).toBe("--enable-trace-backends");
  });

  it("xqbuild plan --standalone --xen-version 4.17.0 passes 4.17.0's spelling to configure", async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "xq-release-"));
    try {
      const output = memoryOutput();
      const env = { PATH: process.env["PATH"], HOME: cwd, XQBUILD_NO_DOCTOR: "1", XQBUILD_CACHE_DIR: path.join(cwd, "cache") };
      const code = await main(["plan", "--json", "--standalone", "--xen-version", "4.17.0", "qemu-xen"], { cwd, env, output });
      expect(code, output.stderr.join("\n")).toBe(0);
      const plan = JSON.parse(output.stdout.join("\n")) as { components: { stages: { kind: string; argv?: string[] }[] }[] };
      const argv = plan.components[0]?.stages.find((s) => s.kind === "run")?.argv ?? [];
      expect(argv.filter((a) => a.startsWith("--enable-trace"))).toEqual(["--enable-trace-backend=log"]);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
