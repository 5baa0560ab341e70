#!/usr/bin/env node
// Record what one Xen release's own make glue runs, for the release golden test
// (test/golden/release-parity.test.ts), from a xen-project/xen git directory.
//
//   node scripts/record-release-glue.mjs --git-dir DIR --tag TAG [--out FILE] [--keep]
//
// DIR is a git directory (no work tree needed) holding TAG (RELEASE-4.20.4, master, ...). The script
// - exports TAG into a temporary directory (git archive) and configures it the way
//   scripts/real-sources.mjs configures Debian's 4.17 tree (./configure --disable-docs
//   --disable-stubdom --disable-xen --disable-ocamltools);
// - makes the recording fake upstreams of fixtures/upstream/ (test/support/git.ts makeUpstreamRepos),
//   tagged with the revisions this release's Config.mk names;
// - runs the release's glue for each case below with test/support/glue.ts runGlue (the same harness
//   as test/golden/glue-parity.test.ts), the default xenbits URLs left as they are and redirected to
//   the fakes by git's url.<base>.insteadOf, and every git command the glue runs recorded by a
//   wrapper first in PATH;
// - writes test/golden/releases/<release>.json (or FILE): per case, configure's argv (byte for byte),
//   the tracetool probes, the SeaBIOS makes and .version, qemu-xen-traditional's xen-setup, and the
//   git commands of scripts/git-checkout.sh, with the tree's path as <root> and the fakes' as
//   <upstream>. Only what the glue ran is recorded, never a file or text of Xen's.
//
// test/support/*.ts is compiled with the project's own tsc into a temporary directory first, so the
// harness is the test's, not a copy of it. Runs one configure at a time (the machine has 2 cores).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const CONFIGURE_ARGS = ["--disable-docs", "--disable-stubdom", "--disable-xen", "--disable-ocamltools"];

/** The xenbits bases of the default URLs: git:// (4.17), http:// (4.17 GIT_HTTP=y), https:// (4.18 on). */
const XENBITS_BASES = ["git://xenbits.xen.org/", "http://xenbits.xen.org/git-http/", "https://xenbits.xen.org/git-http/"];

/** Variables whose values the glue's Config.mk gives, asked of make in tools/ before the cases run. */
const SOURCE_VARS = ["QEMU_UPSTREAM_URL", "QEMU_UPSTREAM_REVISION", "SEABIOS_UPSTREAM_URL", "SEABIOS_UPSTREAM_REVISION", "QEMU_TRADITIONAL_URL", "QEMU_TRADITIONAL_REVISION", "debug"];

/** Targets whose presence the release profiles describe (src/config/release.ts). */
const TARGETS = ["subdir-all-qemu-xen-traditional-dir", "subtree-force-update-all"];

class Failure extends Error {}

function log(message) {
  process.stderr.write(`record-release-glue: ${message}\n`);
}

function parseArgs(argv) {
  const opts = { gitDir: undefined, tag: undefined, out: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--git-dir") opts.gitDir = argv[++i];
    else if (a === "--tag") opts.tag = argv[++i];
    else if (a === "--out") opts.out = argv[++i];
    else if (a === "--keep") opts.keep = true;
    else throw new Failure(`unknown argument ${JSON.stringify(a)}\nusage: node scripts/record-release-glue.mjs --git-dir DIR --tag TAG [--out FILE] [--keep]`);
  }
  if (!opts.gitDir || !opts.tag) throw new Failure("--git-dir DIR and --tag TAG are required");
  return opts;
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...opts });
  if (res.error) throw new Failure(`${cmd} ${args.join(" ")}: ${res.error.message}`);
  if (res.status !== 0 && !opts.allowFail) {
    throw new Failure(`${cmd} ${args.join(" ")} exited ${res.status}\n${(res.stdout ?? "").slice(-3000)}\n${(res.stderr ?? "").slice(-3000)}`);
  }
  return res;
}

/** Compile test/support/{glue,git,records}.ts (and what they import) to plain JS in dir. */
function compileSupport(dir) {
  const tsc = path.join(REPO_ROOT, "node_modules", ".bin", "tsc");
  const files = ["glue.ts", "git.ts", "records.ts", "xen-tree.ts"].map((f) => path.join(REPO_ROOT, "test", "support", f));
  run(tsc, ["--outDir", dir, "--rootDir", REPO_ROOT, "--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022", "--skipLibCheck", "--types", "node", "--allowJs", ...files], { cwd: REPO_ROOT });
  // tree-outputs.mjs is imported by xen-tree.ts; tsc copies .mjs only under --allowJs when reachable
  const mjs = path.join(dir, "test", "support", "tree-outputs.mjs");
  if (!fs.existsSync(mjs)) fs.copyFileSync(path.join(REPO_ROOT, "test", "support", "tree-outputs.mjs"), mjs);
  // the compiled modules find fixtures/ relative to themselves: give them the repository's
  fs.symlinkSync(path.join(REPO_ROOT, "fixtures"), path.join(dir, "fixtures"));
  return path.join(dir, "test", "support");
}

/** The release as xen/Makefile names it: "4.20" and "4.20.4", or "master" for a -unstable tree. */
function releaseOf(root) {
  const text = fs.readFileSync(path.join(root, "xen", "Makefile"), "utf8");
  const get = (n) => new RegExp(`^\\s*(?:export\\s+)?${n}\\s*[:?]?=\\s*(.*?)\\s*$`, "m").exec(text)?.[1] ?? "";
  const extra = get("XEN_EXTRAVERSION").replace(/\$\(XEN_VENDORVERSION\)/g, "");
  const line = `${get("XEN_VERSION")}.${get("XEN_SUBVERSION")}`;
  return { id: /^\.\d+$/.test(extra) ? line : "master", full: `${line}${extra}` };
}

/** Values of make variables in a directory of the tree, as the glue's make has them. */
function makePrint(root, sub, names, env, args = []) {
  const rule = `xq-print: ; @: $(foreach v,${names.join(" ")},$(info XQPRINT $(v)=$($(v))))`;
  const res = run("make", ["-s", "--no-print-directory", "-C", sub, `--eval=${rule}`, "xq-print", ...args], { cwd: root, env });
  const out = {};
  for (const line of res.stdout.split("\n")) {
    const m = /^XQPRINT ([A-Za-z_0-9]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Which of TARGETS tools/Makefile defines: make's database (-p) without running anything (-q). */
function targetsOf(root, env) {
  const res = run("make", ["-q", "-p", "--no-print-directory", "-C", "tools", "--eval=xq-db: ;", "xq-db"], { cwd: root, env, allowFail: true });
  const defined = new Set(res.stdout.split("\n").map((l) => /^([^\s#:=][^:=]*):(?!=)/.exec(l)?.[1]).filter(Boolean));
  return Object.fromEntries(TARGETS.map((t) => [t, defined.has(t)]));
}

/** A git wrapper that appends {cwd, argv} of each run to $XQ_GIT_RECORD, then runs the real git. */
function gitWrapper(dir) {
  const realGit = run("sh", ["-c", "command -v git"]).stdout.trim();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "git");
  fs.writeFileSync(
    file,
    `#!/usr/bin/env python3
import json, os, sys
rec = os.environ.get("XQ_GIT_RECORD")
if rec:
    with open(rec, "a") as f:
        f.write(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:]}) + "\\n")
os.execv(${JSON.stringify(realGit)}, [${JSON.stringify(realGit)}] + sys.argv[1:])
`,
  );
  fs.chmodSync(file, 0o755);
}

/** The cases: VAR=value pairs, written into .config for the glue and given to xqbuild on its command line. */
function casesFor(release, targets) {
  const trad = targets["subdir-all-qemu-xen-traditional-dir"];
  const cases = [
    { name: "defaults", vars: {} },
    { name: "CONFIG_9PFS=y", vars: { CONFIG_9PFS: "y" } },
    { name: "CONFIG_9PFS=n", vars: { CONFIG_9PFS: "n" } },
    { name: "debug=y", vars: { debug: "y" } },
    { name: "debug=n", vars: { debug: "n" } },
    { name: "EXTRA_CFLAGS_QEMU_XEN", vars: { EXTRA_CFLAGS_QEMU_XEN: "-DXQ_ONE=1 -O1" } },
    { name: "XEN_TOOLS_RPATH=y", vars: { XEN_TOOLS_RPATH: "y", ...(trad ? { CONFIG_QEMU_TRAD: "y" } : {}) }, trad },
  ];
  if (trad) cases.push({ name: "CONFIG_QEMU_TRAD=y", vars: { CONFIG_QEMU_TRAD: "y" }, trad: true });
  if (release.id === "4.17") cases.push({ name: "GIT_HTTP=y", vars: { GIT_HTTP: "y" } });
  return cases;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const gitDir = path.resolve(opts.gitDir);
  const commit = run("git", ["--git-dir", gitDir, "rev-parse", `${opts.tag}^{commit}`]).stdout.trim();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "xq-record-release-"));
  try {
    log(`compiling test/support into ${work}/support`);
    const support = compileSupport(path.join(work, "support"));
    await record(opts, gitDir, commit, work, support);
  } finally {
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

async function record(opts, gitDir, commit, work, support) {
  const { runGlue, glueEnv } = await import(pathToFileURL(path.join(support, "glue.js")).href);
  const { makeUpstreamRepos } = await import(pathToFileURL(path.join(support, "git.js")).href);
  const { configureRecords, tracetoolRecords, makeRecords, xenSetupRecords, readRecords } = await import(pathToFileURL(path.join(support, "records.js")).href);
  const { copyXenTree } = await import(pathToFileURL(path.join(support, "xen-tree.js")).href);

  const tree = path.join(work, "xen");
  fs.mkdirSync(tree);
  log(`exporting ${opts.tag} (${commit}) into ${tree}`);
  execFileSync("sh", ["-c", 'git --git-dir="$1" archive --format=tar "$2" | tar -x --no-same-owner -C "$3"', "sh", gitDir, commit, tree]);
  const release = releaseOf(tree);
  log(`Xen ${release.full} (release profile ${release.id}); ./configure ${CONFIGURE_ARGS.join(" ")}`);
  const conf = run("./configure", CONFIGURE_ARGS, { cwd: tree, env: { ...process.env, LC_ALL: "C" }, allowFail: true });
  if (conf.status !== 0) {
    throw new Failure(`./configure of ${opts.tag} failed (a build dependency missing? install Debian bookworm's package for it):\n${(conf.stdout + conf.stderr).split("\n").slice(-30).join("\n")}`);
  }

  const upstream = path.join(work, "upstream");
  const repos = makeUpstreamRepos(upstream);
  const baseEnv = glueEnv();
  const defaults = makePrint(tree, "tools", SOURCE_VARS, baseEnv);
  const targets = targetsOf(tree, baseEnv);
  // the fakes get the tags this release's Config.mk names (each at the fake's first commit)
  const tagIn = (repo, rev) => {
    if (!rev || rev === "master" || repo.refs[rev]) return;
    run("git", ["--git-dir", repo.path, "tag", rev, Object.values(repo.refs)[0] ?? "master"], { env: baseEnv });
    repo.refs[rev] = run("git", ["--git-dir", repo.path, "rev-parse", `${rev}^{commit}`], { env: baseEnv }).stdout.trim();
  };
  tagIn(repos.qemuXen, defaults.QEMU_UPSTREAM_REVISION);
  tagIn(repos.seabios, defaults.SEABIOS_UPSTREAM_REVISION);
  tagIn(repos.qemuTraditional, defaults.QEMU_TRADITIONAL_REVISION);

  const wrapperDir = path.join(work, "git-wrapper");
  gitWrapper(wrapperDir);
  const insteadOf = {
    GIT_CONFIG_COUNT: String(XENBITS_BASES.length),
    ...Object.fromEntries(XENBITS_BASES.flatMap((base, i) => [[`GIT_CONFIG_KEY_${i}`, `url.${pathToFileURL(upstream).href}/.insteadOf`], [`GIT_CONFIG_VALUE_${i}`, base]])),
  };

  const seabiosConfig = createHash("sha256").update(fs.readFileSync(path.join(tree, "tools", "firmware", "seabios-config"))).digest("hex");
  const out = {
    recordedBy: "scripts/record-release-glue.mjs",
    tag: opts.tag,
    commit,
    xenVersion: release.full,
    release: release.id,
    xenConfigure: CONFIGURE_ARGS,
    note: "What this release's make glue ran (fake upstreams of fixtures/upstream/): no file or text of Xen's.",
    defaults,
    targets,
    seabiosConfigSha256: seabiosConfig,
    cases: [],
  };

  let index = 0;
  for (const c of casesFor(release, targets)) {
    const root = copyXenTree(path.join(work, `case-${index++}`), { from: tree, hardlink: true });
    fs.writeFileSync(path.join(root, ".config"), Object.entries(c.vars).map(([k, v]) => `${k} = ${v}\n`).join(""));
    const gitRecord = path.join(work, `case-${index}.git.jsonl`);
    const env = { ...insteadOf, PATH: `${wrapperDir}:${process.env.PATH}`, XQ_GIT_RECORD: gitRecord };
    const components = c.trad ? ["qemu-xen", "seabios", "qemu-xen-traditional"] : ["qemu-xen", "seabios"];
    log(`case ${c.name}`);
    const glue = await runGlue(root, { components, env });
    if (glue.code !== 0) throw new Failure(`case ${c.name}: the glue failed (${glue.code})\n${glue.stdout.slice(-3000)}\n${glue.stderr.slice(-3000)}`);
    const norm = normaliser(root, upstream);
    const normPath = (p) => (p === null || p === undefined ? null : norm(p.split(":").map((x) => (x === "" ? x : path.normalize(x))).join(":")));
    const one = (list, what) => {
      if (list.length !== 1) throw new Failure(`case ${c.name}: the glue ran ${what} ${list.length} times`);
      return list[0];
    };
    const conf = one(configureRecords(glue.records), "configure");
    const makeOf = (r) => ({ cwd: norm(r.cwd), target: r.target, goals: r.goals, vars: r.vars, makelevel: r.makelevel });
    const entry = {
      name: c.name,
      vars: c.vars,
      qemuXen: {
        tracetool: tracetoolRecords(glue.records).map((r) => ({ argv0: normPath(r.argv0), argv: r.argv })),
        configure: {
          argv0: normPath(conf.argv0),
          argv: conf.argv.map(norm),
          cwd: norm(conf.cwd),
          env: { PKG_CONFIG_PATH: normPath(conf.env.PKG_CONFIG_PATH), MAKELEVEL: conf.env.MAKELEVEL ?? null },
        },
        make: makeRecords(glue.records, { dir: "qemu-xen-build" }).map(makeOf),
      },
      seabios: {
        make: makeRecords(glue.records, { dir: "seabios" }).map(makeOf),
        version: fs.readFileSync(path.join(root, "tools", "firmware", "seabios-dir", ".version"), "utf8"),
      },
      git: readRecords(gitRecord).map((r) => ({ cwd: norm(r.cwd), argv: r.argv.map(norm) })),
    };
    if (c.trad) {
      const setup = one(xenSetupRecords(glue.records), "xen-setup");
      const tradEnv = (e) => Object.fromEntries(["PREFIX", "XEN_SCRIPT_DIR", "XEN_ROOT", "CONFIG_BLKTAP1", "BUILDING_QEMU_TRAD", "QEMU_ROOT"].map((n) => [n, n === "XEN_ROOT" ? normPath(e[n]) : (e[n] ?? null)]));
      entry.traditional = {
        xenSetup: { argv0: norm(setup.argv0), argv: setup.argv.map(norm), cwd: norm(setup.cwd), env: tradEnv(setup.env) },
        make: makeRecords(glue.records, { dir: "qemu-xen-traditional" }).map((r) => ({ ...makeOf(r), env: tradEnv(r.env) })),
      };
    }
    out.cases.push(entry);
    fs.rmSync(root, { recursive: true, force: true });
  }

  const file = opts.out ? path.resolve(opts.out) : path.join(REPO_ROOT, "test", "golden", "releases", `${release.id}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(out, null, 2)}\n`);
  fs.renameSync(tmp, file);
  log(`wrote ${file} (${out.cases.length} cases)`);
}

/** Replaces the case tree's path with <root> and the fakes' with <upstream>, wherever they occur. */
function normaliser(root, upstream) {
  const pairs = [
    [pathToFileURL(upstream).href, "file://<upstream>"],
    [fs.realpathSync(upstream), "<upstream>"],
    [upstream, "<upstream>"],
    [fs.realpathSync(root), "<root>"],
    [root, "<root>"],
  ];
  return (s) => {
    if (typeof s !== "string") return s;
    let t = s;
    for (const [from, to] of pairs) t = t.split(from).join(to);
    return t;
  };
}

Promise.resolve()
  .then(main)
  .catch((err) => {
    log(err instanceof Failure ? err.message : (err?.stack ?? String(err)));
    process.exitCode = 1;
  });
