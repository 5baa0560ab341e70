// The real Xen tree (from Debian's xen source package, configured once and cached by
// scripts/real-sources.mjs) and cheap private copies of it for single tests.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GLUE_OUTPUTS } from "./tree-outputs.mjs";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = path.join(REPO_ROOT, "scripts", "real-sources.mjs");

/** What `node scripts/real-sources.mjs --print` prints. */
export interface RealSources {
  /** the cache directory ($XQBUILD_E2E_CACHE or ~/.cache/xqbuild-e2e) */
  cache: string;
  /** the configured Xen tree: <cache>/xen-configured */
  xenTree: string;
  /** the unconfigured Xen tree: <cache>/src/xen-<version> */
  xenSource: string;
  /** Debian's upstream version of the Xen tree, e.g. 4.17.5+72-g01140da4e8 */
  xenVersion: string;
  debianDir: string;
  packages: Record<string, { version: string; dsc: string; files: string[] }>;
  /** only after a run with --all */
  seabiosSource?: string;
  qemuSource?: string;
  mesonSource?: string;
}

let cached: RealSources | undefined;

/**
 * Run `node scripts/real-sources.mjs --print` (once per process; later calls return the same result).
 * Quick when everything is cached; on a fresh machine it downloads Debian's xen and seabios source
 * packages and configures Xen (a few seconds, more if build dependencies must be installed).
 */
export function realSources(): RealSources {
  cached ??= realSourcesFor(process.env);
  return cached;
}

/**
 * `node scripts/real-sources.mjs --print` in the given environment (XQBUILD_E2E_CACHE names the
 * cache), uncached; throws when the script fails or its configured tree is not there.
 */
export function realSourcesFor(env: NodeJS.ProcessEnv): RealSources {
  const res = spawnSync(process.execPath, [SCRIPT, "--print"], {
    cwd: REPO_ROOT,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024
  });
  if (res.error || res.status !== 0) {
    const why = res.error ? res.error.message : `exit code ${res.status ?? res.signal}`;
    throw new Error(
      `node scripts/real-sources.mjs --print failed (${why}); the real Xen tree is not available.\n` +
        `Run it by hand to see why. Its output ended with:\n${lastLines(res.stderr ?? "", 25)}`
    );
  }
  let parsed: RealSources;
  try {
    parsed = JSON.parse(res.stdout) as RealSources;
  } catch (err) {
    throw new Error(`node scripts/real-sources.mjs --print printed no JSON:\n${res.stdout}`, { cause: err });
  }
  if (!fs.existsSync(path.join(parsed.xenTree, "config", "Tools.mk"))) {
    throw new Error(`${parsed.xenTree} is not a configured Xen tree (no config/Tools.mk)`);
  }
  return parsed;
}

/** The configured, cached Xen tree. Never modify it: use copyXenTree() for a private copy. */
export function realXenTree(): string {
  return realSources().xenTree;
}

export { GLUE_OUTPUTS };

/**
 * Files a test is likely to rewrite: with hardlink copies these are copied for real, so that writing
 * them never changes the cached tree.
 */
const UNSHARED = [
  "Config.mk",
  "config/Tools.mk",
  "config/Paths.mk",
  "config/Toplevel.mk",
  "tools/Makefile",
  "tools/Rules.mk",
  "tools/firmware/Makefile",
  "tools/firmware/seabios-config",
  "xen/Makefile",
  "scripts/git-checkout.sh"
];

export interface CopyXenTreeOptions {
  /** the tree to copy; default realXenTree() */
  from?: string;
  /**
   * Hard-link the files instead of copying them (`cp -al`, about 0.05 s instead of 0.2 s). Safe as
   * long as the test only adds files or replaces them (write a new file and rename, or unlink
   * first): the files in UNSHARED and .config are made private copies anyway, but writing into any
   * other existing file in place would change the cached tree.
   */
  hardlink?: boolean;
}

/**
 * Make a private copy of the configured Xen tree at dest (which must not exist or be empty) and
 * return dest. The copy has no .config and none of the directories Xen's glue makes.
 */
export function copyXenTree(dest: string, opts: CopyXenTreeOptions = {}): string {
  const from = opts.from ?? realXenTree();
  const target = path.resolve(dest);
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) {
    throw new Error(`copyXenTree: ${target} exists and is not empty`);
  }
  fs.mkdirSync(target, { recursive: true });
  execFileSync("cp", [opts.hardlink ? "-al" : "-a", `${from}/.`, `${target}/`], { stdio: ["ignore", "ignore", "pipe"] });
  for (const rel of GLUE_OUTPUTS) fs.rmSync(path.join(target, rel), { recursive: true, force: true });
  if (opts.hardlink) {
    for (const rel of UNSHARED) {
      const file = path.join(target, rel);
      if (!fs.existsSync(file)) continue;
      const tmp = `${file}.unshare-tmp`;
      const st = fs.statSync(file);
      fs.copyFileSync(file, tmp);
      fs.chmodSync(tmp, st.mode & 0o7777);
      fs.utimesSync(tmp, st.atime, st.mtime); // keep make's view of the tree unchanged
      fs.renameSync(tmp, file);
    }
  }
  return target;
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}
