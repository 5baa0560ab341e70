#!/usr/bin/env node
// A fake xenbits made of the real sources: bare git repositories laid out the way xenbits (and
// gitlab, for QEMU's submodules) have them, built once from the Debian source trees that
// scripts/real-sources.mjs unpacks, and cached in <cache>/xenbits.
//
//   node test/e2e/fake-xenbits.mjs [--print]
//
// Cache: $XQBUILD_E2E_CACHE, else $HOME/.cache/xqbuild-e2e (the same as scripts/real-sources.mjs).
//
//   <cache>/xenbits/qemu-xen.git              QEMU 7.2 (Debian's 7.2+dfsg orig tarball, no debian/)
//     commit 1  the orig tarball as it is (QEMU 7.2.0 upstream, dfsg), with QEMU's four submodules
//               turned into gitlinks and QEMU's own .gitmodules (gitlab.com URLs): tag v7.2.0, the
//               unpatched source that e2e step (i) gives xqbuild with Debian's series as the queue
//     commit 3  commit 1 + Debian's whole debian/patches/series applied in order with GNU patch (as
//               dpkg-source does), on branch debian-series: the pre-patched tree step (i) compares to
//     commit 2  (a root commit of its own) commit 1's files with a .gitmodules that names only the four submodules, by relative URL
//               (../meson.git, ...), so the same repositories work over file://, git:// and http://
//               without a mirrors setting, and Debian's skip-meson-pc-bios.diff and
//               ignore-roms-dependency-in-qtest.patch, the
//               fewest that make the dfsg tree configure (it has no pc-bios blobs: meson fails on the
//               missing edk2-*.fd.bz2 without the first, then on the undefined `roms` in
//               tests/qtest/meson.build without the second); with XQBUILD_E2E_QEMU_PATCHES=series,
//               Debian's whole debian/patches/series in order instead (QEMU 7.2.22 + Debian's fixes)
//     tag qemu-xen-4.17.3 (annotated), branches stable-4.17 and master: commit 2. HEAD: master.
//   <cache>/xenbits/meson.git                 Debian's meson 1.0.1 orig tarball (QEMU's meson submodule)
//   <cache>/xenbits/keycodemapdb.git          ui/keycodemapdb, moved out of the QEMU tree
//   <cache>/xenbits/berkeley-softfloat-3.git  tests/fp/berkeley-softfloat-3, moved out of the QEMU tree
//   <cache>/xenbits/berkeley-testfloat-3.git  tests/fp/berkeley-testfloat-3, moved out of the QEMU tree
//     one commit each, on master. `dtc` is not in the dfsg tarball, so there is no dtc submodule:
//     QEMU's configure skips a submodule that is not in the index ("warn: ignoring non-existent
//     submodule dtc") and meson uses the system libfdt (libfdt-dev).
//   <cache>/xenbits/seabios.git               SeaBIOS 1.16.2 (Debian's orig tarball, without the
//                                             tarball-only .version file, which git checkouts lack)
//     commit 1  the 1.16.2 source, tagged rel-1.16.0 (a stand-in: Debian has no 1.16.0 source)
//     commit 2  the same tree, tagged rel-1.16.2; master. HEAD: master.
//     Two commits, not two tags on one, so `git describe` (SeaBIOS's version string) names the tag
//     that was checked out.
//   <cache>/xenbits/manifest.json             what was built from what, every ref and commit
//
// Deterministic: fixed author, committer and dates, so the commit ids are the same on every machine.
// Made in <cache>/.xenbits.tmp-<pid> and renamed into place when complete, so a killed run never
// leaves a half-made xenbits; concurrent runs serialise on <cache>/.xenbits.lock.
//
// As a module: ensureFakeXenbits({ cache, qemuSource, seabiosSource, mesonSource }) returns the
// manifest (with the directory in `dir`).

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { acquireDirLock } from "../support/dir-lock.mjs";

/** Bump when the layout or the commits change: a cached xenbits of another version is rebuilt. */
const GENERATOR_VERSION = 3;

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REAL_SOURCES = path.join(REPO_ROOT, "scripts", "real-sources.mjs");

const AUTHOR = { name: "Xqbuild Fake Xenbits", email: "fake-xenbits@xqbuild.invalid" };

/** QEMU's submodules that a build needs, each its own repository next to qemu-xen.git. */
export const QEMU_SUBMODULES = [
  { name: "meson", path: "meson", repo: "meson" },
  { name: "ui/keycodemapdb", path: "ui/keycodemapdb", repo: "keycodemapdb" },
  { name: "tests/fp/berkeley-softfloat-3", path: "tests/fp/berkeley-softfloat-3", repo: "berkeley-softfloat-3" },
  { name: "tests/fp/berkeley-testfloat-3", path: "tests/fp/berkeley-testfloat-3", repo: "berkeley-testfloat-3" }
];

export const QEMU_TAG = "qemu-xen-4.17.3";
/** The unpatched upstream source (commit 1) and the same with Debian's whole series (commit 3). */
export const QEMU_UNPATCHED_TAG = "v7.2.0";
export const QEMU_SERIES_BRANCH = "debian-series";
export const QEMU_BRANCH = "stable-4.17";
export const SEABIOS_TAGS = ["rel-1.16.0", "rel-1.16.2"];

export class Failure extends Error {}

export function log(message) {
  process.stderr.write(`fake-xenbits: ${message}\n`);
}

export function cacheDir() {
  const fromEnv = process.env.XQBUILD_E2E_CACHE;
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(process.env.HOME || os.homedir(), ".cache", "xqbuild-e2e");
}

/** An environment for git isolated from the user's and the system's configuration. */
export function gitEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("GIT_") && !["MAKEFLAGS", "MAKELEVEL", "MFLAGS"].includes(k)) env[k] = v;
  }
  Object.assign(env, {
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    LC_ALL: "C",
    TZ: "UTC"
  });
  return { ...env, ...extra };
}

const GIT_CONFIG = [
  "-c", "init.defaultBranch=master",
  "-c", "commit.gpgsign=false",
  "-c", "tag.gpgsign=false",
  "-c", "gc.auto=0",
  "-c", "maintenance.auto=false",
  "-c", "core.autocrlf=false",
  "-c", "core.fileMode=true",
  "-c", "core.symlinks=true",
  "-c", "protocol.file.allow=always",
  "-c", `user.name=${AUTHOR.name}`,
  "-c", `user.email=${AUTHOR.email}`
];

export function run(cmd, args, { cwd, env, input } = {}) {
  const res = spawnSync(cmd, args, {
    cwd,
    env: env ?? gitEnv(),
    input,
    encoding: "utf8",
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    maxBuffer: 256 * 1024 * 1024
  });
  if (res.error) throw new Failure(`${cmd} ${args.join(" ")}: ${res.error.message}`);
  if (res.status !== 0) {
    throw new Failure(`${cmd} ${args.join(" ")} (in ${cwd ?? process.cwd()}) failed with ${res.signal ?? `exit code ${res.status}`}:\n${(res.stderr || res.stdout).trim()}`);
  }
  return res.stdout.trim();
}

export function git(args, opts = {}) {
  return run("git", [...GIT_CONFIG, ...args], opts);
}

export function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/** Fixed dates, one hour apart, so that commit ids are the same on every run and machine. */
export function dateFor(index) {
  const h = String(index).padStart(2, "0");
  return `2023-12-01T${h}:00:00+00:00`;
}

export function commitEnv(bare, work, index, i) {
  const date = dateFor(i);
  return gitEnv({
    GIT_DIR: bare,
    GIT_WORK_TREE: work,
    GIT_INDEX_FILE: index,
    GIT_AUTHOR_NAME: AUTHOR.name,
    GIT_AUTHOR_EMAIL: AUTHOR.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: AUTHOR.name,
    GIT_COMMITTER_EMAIL: AUTHOR.email,
    GIT_COMMITTER_DATE: date
  });
}

/** Stage everything in env's work tree (ignored files too: a tarball holds exactly the tracked files). */
export function stageAll(env) {
  git(["add", "-A", "-f", "."], { cwd: env.GIT_WORK_TREE, env });
}

export function commit(env, message, parent) {
  const tree = git(["write-tree"], { env });
  return git(["commit-tree", tree, ...(parent ? ["-p", parent] : []), "-F", "-"], { env, input: `${message}\n` });
}

export function tag(bare, name, sha, message, i) {
  const env = commitEnv(bare, undefined, undefined, i);
  delete env.GIT_WORK_TREE;
  delete env.GIT_INDEX_FILE;
  git(["tag", "-a", "-m", message, name, sha], { env });
}

export function initBare(bare) {
  git(["init", "-q", "--bare", bare]);
  // Description and export marker, as a served repository has; no hooks.
  fs.writeFileSync(path.join(bare, "description"), `${path.basename(bare)} (fake xenbits for xqbuild's end-to-end test)\n`);
  fs.writeFileSync(path.join(bare, "git-daemon-export-ok"), "");
  rmrf(path.join(bare, "hooks"));
}

export function finishRepo(bare) {
  const env = gitEnv({ GIT_DIR: bare });
  git(["symbolic-ref", "HEAD", "refs/heads/master"], { env });
  // One pack, so that serving it reuses deltas instead of compressing thousands of loose objects.
  git(["repack", "-a", "-d", "-q"], { env });
  git(["prune-packed"], { env });
  // For dumb HTTP too.
  git(["update-server-info"], { env });
}

export function refsOf(bare) {
  const out = git(["for-each-ref", "--format=%(refname) %(objectname) %(*objectname)"], { env: gitEnv({ GIT_DIR: bare }) });
  const refs = {};
  for (const line of out.split("\n")) {
    if (!line.trim()) continue;
    const [ref, sha, peeled] = line.trim().split(" ");
    refs[ref] = peeled || sha;
  }
  return refs;
}

/** A bare repository holding one commit of a directory, on master. */
export function importDirectory(baseDir, repo, srcDir, message, i) {
  const bare = path.join(baseDir, `${repo}.git`);
  const index = path.join(baseDir, `.index-${repo}`);
  initBare(bare);
  const env = commitEnv(bare, srcDir, index, i);
  stageAll(env);
  const sha = commit(env, message);
  git(["update-ref", "refs/heads/master", sha], { env: gitEnv({ GIT_DIR: bare }) });
  rmrf(index);
  finishRepo(bare);
  return { repo, bare, commit: sha };
}

export function sha256(file) {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Debian's patches to apply, in order: the two the build needs, or the whole series. */
function qemuPatches(qemuSource, mode) {
  const dir = path.join(qemuSource, "debian", "patches");
  if (mode === "series") {
    const series = fs.readFileSync(path.join(dir, "series"), "utf8");
    const names = series
      .split("\n")
      .map((l) => l.replace(/#.*$/, "").trim())
      .filter((l) => l !== "")
      .map((l) => l.split(/\s+/)[0]);
    return names.map((n) => path.join(dir, n));
  }
  return MINIMAL_PATCHES.map((n) => path.join(dir, n));
}

/**
 * The fewest of Debian's patches that let the dfsg tree configure: skip-meson-pc-bios.diff (meson
 * fails on the blobs the dfsg tarball lacks) and then ignore-roms-dependency-in-qtest.patch (without
 * pc-bios/meson.build, tests/qtest/meson.build fails on the undefined variable `roms`).
 */
const MINIMAL_PATCHES = ["skip-meson-pc-bios.diff", "ignore-roms-dependency-in-qtest.patch"];

function patchMode() {
  const mode = process.env.XQBUILD_E2E_QEMU_PATCHES || "minimal";
  if (mode !== "series" && mode !== "minimal") {
    throw new Failure(`XQBUILD_E2E_QEMU_PATCHES must be "minimal" (default) or "series", not ${JSON.stringify(mode)}`);
  }
  return mode;
}

/** What the cached xenbits was made from; a cached one with another key is rebuilt. */
function inputKey(sources, mode) {
  return {
    generator: GENERATOR_VERSION,
    qemu: path.basename(sources.qemuSource),
    seabios: path.basename(sources.seabiosSource),
    meson: path.basename(sources.mesonSource),
    qemuPatches: mode,
    patches: qemuPatches(sources.qemuSource, mode).map((p) => ({ name: path.basename(p), sha256: sha256(p) }))
  };
}

function buildQemu(baseDir, sources, mode, work) {
  const { qemuSource, mesonSource } = sources;
  log(`copying ${qemuSource}`);
  run("cp", ["-a", `${qemuSource}/.`, work], { env: gitEnv() });
  rmrf(path.join(work, "debian"));
  // The submodules: each directory moves out into its own repository (meson comes from Debian's
  // meson source: the dfsg tarball dropped QEMU's copy); an empty directory stays in its place,
  // as in a checkout whose submodules are not initialised.
  const subs = [];
  let i = 0;
  for (const sm of QEMU_SUBMODULES) {
    const inTree = path.join(work, sm.path);
    let from;
    if (sm.path === "meson") {
      if (fs.existsSync(inTree)) throw new Failure(`${qemuSource} unexpectedly has a meson/ directory`);
      from = path.join(path.dirname(work), `.meson-${process.pid}`);
      run("cp", ["-a", `${mesonSource}/.`, from], { env: gitEnv() });
    } else {
      if (!fs.existsSync(inTree)) throw new Failure(`${qemuSource} has no ${sm.path}/`);
      from = path.join(path.dirname(work), `.sub-${sm.repo}-${process.pid}`);
      fs.renameSync(inTree, from);
    }
    fs.mkdirSync(inTree, { recursive: true });
    const what = sm.path === "meson" ? `Debian's meson source (${path.basename(mesonSource)})` : `${sm.path} of ${path.basename(qemuSource)}`;
    log(`making ${sm.repo}.git from ${what}`);
    subs.push({ ...sm, ...importDirectory(baseDir, sm.repo, from, `Import ${what}\n\nQEMU's ${sm.name} submodule, for xqbuild's fake xenbits.`, i++) });
    rmrf(from);
  }

  const bare = path.join(baseDir, "qemu-xen.git");
  const index = path.join(baseDir, ".index-qemu-xen");
  initBare(bare);
  const gitmodules = subs.map((s) => `[submodule "${s.name}"]\n\tpath = ${s.path}\n\turl = ../${s.repo}.git\n`).join("");
  // Commit 1 keeps QEMU's own .gitmodules, as upstream has it.
  fs.copyFileSync(path.join(qemuSource, ".gitmodules"), path.join(work, ".gitmodules"));
  log("committing the QEMU tree (qemu-xen.git)");
  let env = commitEnv(bare, work, index, 10);
  stageAll(env);
  for (const s of subs) git(["update-index", "--add", "--cacheinfo", `160000,${s.commit},${s.path}`], { env });
  const version = fs.readFileSync(path.join(work, "VERSION"), "utf8").trim();
  const c1 = commit(
    env,
    `QEMU ${version} from Debian's ${path.basename(qemuSource)} orig tarball\n\n` +
      `Without debian/. The submodules ${subs.map((s) => s.path).join(", ")} are gitlinks to their own\n` +
      "repositories named after their gitlab.com ones; dtc is not in the dfsg tarball."
  );

  // Commit 3: Debian's whole series on the unpatched source, applied by GNU patch alone.
  const series = qemuPatches(qemuSource, "series");
  log(`applying Debian's whole series (${series.length} patches) for ${QEMU_SERIES_BRANCH}`);
  for (const p of series) {
    run("patch", ["-p1", "-s", "--forward", "--no-backup-if-mismatch", "-i", p], { cwd: work, env: gitEnv() });
  }
  env = commitEnv(bare, work, index, 13);
  stageAll(env);
  for (const s of subs) {
    const entry = git(["ls-files", "--stage", "--", s.path], { env });
    if (!entry.startsWith(`160000 ${s.commit} `)) throw new Failure(`lost the gitlink ${s.path} (index: ${JSON.stringify(entry)})`);
  }
  const c3 = commit(env, `Debian's debian/patches/series (${series.length} patches, in order), applied with GNU patch\n\n${series.map((p) => path.basename(p)).join("\n")}`, c1);
  // Back to commit 1's files for commit 2.
  git(["read-tree", "-u", "--reset", c1], { env });

  const patches = qemuPatches(qemuSource, mode);
  log(`applying ${mode === "series" ? `Debian's whole series (${patches.length} patches)` : patches.map((p) => path.basename(p)).join(", ")}`);
  // The patches are made against QEMU's own .gitmodules (Debian's stable updates change URLs in it):
  // put that back while they apply, and the fake's four relative entries after.
  fs.copyFileSync(path.join(qemuSource, ".gitmodules"), path.join(work, ".gitmodules"));
  for (const p of patches) {
    run("patch", ["-p1", "-s", "--forward", "--no-backup-if-mismatch", "-i", p], { cwd: work, env: gitEnv() });
  }
  fs.writeFileSync(path.join(work, ".gitmodules"), gitmodules);
  env = commitEnv(bare, work, index, 11);
  stageAll(env);
  // The empty directories left at the submodules' paths keep their gitlinks through `add -A`.
  for (const s of subs) {
    const entry = git(["ls-files", "--stage", "--", s.path], { env });
    if (!entry.startsWith(`160000 ${s.commit} `)) throw new Failure(`lost the gitlink ${s.path} (index: ${JSON.stringify(entry)})`);
  }
  const c2 = commit(
    env,
    mode === "series"
      ? `Debian's debian/patches/series (${patches.length} patches, in order)\n\n${patches.map((p) => path.basename(p)).join("\n")}`
      : "Debian's skip-meson-pc-bios.diff and ignore-roms-dependency-in-qtest.patch\n\n" +
          "The dfsg tarball has no firmware blobs: without the first, meson fails on the missing\n" +
          "edk2-*.fd.bz2; without pc-bios/meson.build, tests/qtest/meson.build then fails on the\n" +
          "undefined variable roms, which the second fixes."
  );
  const bareEnv = gitEnv({ GIT_DIR: bare });
  git(["update-ref", "refs/heads/master", c2], { env: bareEnv });
  git(["update-ref", `refs/heads/${QEMU_BRANCH}`, c2], { env: bareEnv });
  tag(bare, QEMU_TAG, c2, `${QEMU_TAG} (fake: QEMU ${version} from Debian)`, 12);
  tag(bare, QEMU_UNPATCHED_TAG, c1, `${QEMU_UNPATCHED_TAG} (fake: QEMU ${version} as released, without Debian's patches)`, 14);
  git(["update-ref", `refs/heads/${QEMU_SERIES_BRANCH}`, c3], { env: bareEnv });
  rmrf(index);
  log("packing qemu-xen.git");
  finishRepo(bare);
  const seriesTree = git(["rev-parse", `${c3}^{tree}`], { env: bareEnv });
  return { bare, version, commits: { import: c1, patched: c2, series: c3 }, seriesTree, series: series.map((p) => path.basename(p)), patches: patches.map((p) => path.basename(p)), subs };
}

function buildSeabios(baseDir, sources, work) {
  const { seabiosSource } = sources;
  log(`making seabios.git from ${seabiosSource}`);
  run("cp", ["-a", `${seabiosSource}/.`, work], { env: gitEnv() });
  // The release tarball's .version is made by SeaBIOS's release script; git checkouts lack it.
  rmrf(path.join(work, ".version"));
  const bare = path.join(baseDir, "seabios.git");
  const index = path.join(baseDir, ".index-seabios");
  initBare(bare);
  let env = commitEnv(bare, work, index, 20);
  stageAll(env);
  const version = path.basename(seabiosSource).replace(/^seabios-/, "");
  const c1 = commit(env, `SeaBIOS ${version} from Debian's orig tarball, standing in for ${SEABIOS_TAGS[0]}\n\nDebian has no 1.16.0 source; this is the ${version} tree.`);
  env = commitEnv(bare, work, index, 21);
  const c2 = commit(env, `SeaBIOS ${version} (the same tree), ${SEABIOS_TAGS[1]}`, c1);
  const bareEnv = gitEnv({ GIT_DIR: bare });
  git(["update-ref", "refs/heads/master", c2], { env: bareEnv });
  tag(bare, SEABIOS_TAGS[0], c1, `${SEABIOS_TAGS[0]} (fake: the ${version} source)`, 22);
  tag(bare, SEABIOS_TAGS[1], c2, SEABIOS_TAGS[1], 23);
  rmrf(index);
  finishRepo(bare);
  return { bare, version, commits: { [SEABIOS_TAGS[0]]: c1, [SEABIOS_TAGS[1]]: c2 } };
}

// ---------------------------------------------------------------------------------------------
// Locking: test/support/dir-lock.mjs (a directory made with mkdir, holding the owner's pid).

export function acquireLock(cache, name = ".xenbits.lock") {
  return acquireDirLock(path.join(cache, name), {
    log,
    fail: (message) => {
      throw new Failure(message);
    },
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * Writes the manifest into the finished temporary directory and puts it in place of `dir` (an older
 * one moved aside first, then removed): a reader sees the old xenbits or the new, never half of one.
 */
export function publish(cache, tmp, dir, manifest) {
  fs.writeFileSync(path.join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  if (fs.existsSync(dir)) {
    const trash = path.join(cache, `.trash-${path.basename(dir)}-${process.pid}`);
    fs.renameSync(dir, trash);
    rmrf(trash);
  }
  fs.renameSync(tmp, dir);
  log(`made ${dir} in ${manifest.seconds.toFixed(1)} s`);
  return { ...manifest, dir };
}

export function readManifest(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  } catch {
    return undefined;
  }
}

export function sameKey(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function cleanStale(cache) {
  for (const n of fs.readdirSync(cache)) {
    if (/^\.(xenbits\.tmp-|trash-xenbits-)/.test(n)) {
      log(`removing leftover ${path.join(cache, n)}`);
      rmrf(path.join(cache, n));
    }
  }
}

/** The Debian source trees, from scripts/real-sources.mjs --all --print. */
export function realSourcesAll() {
  const res = spawnSync(process.execPath, [REAL_SOURCES, "--all", "--print"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024
  });
  if (res.error || res.status !== 0) throw new Failure(`node scripts/real-sources.mjs --all --print failed (${res.error?.message ?? `exit code ${res.status}`})`);
  return JSON.parse(res.stdout);
}

/**
 * Make (once) and return the fake xenbits. sources: { cache?, qemuSource, seabiosSource, mesonSource }.
 * Returns the manifest plus `dir`, the directory to serve.
 */
export function ensureFakeXenbits(sources) {
  for (const k of ["qemuSource", "seabiosSource", "mesonSource"]) {
    if (!sources[k] || !fs.existsSync(sources[k])) throw new Failure(`${k} is missing (${sources[k]}): run node scripts/real-sources.mjs --all`);
  }
  const cache = sources.cache ? path.resolve(sources.cache) : cacheDir();
  const dir = path.join(cache, "xenbits");
  const mode = patchMode();
  const key = inputKey(sources, mode);
  const quick = readManifest(dir);
  if (quick && sameKey(quick.key, key)) return { ...quick, dir };

  fs.mkdirSync(cache, { recursive: true });
  const release = acquireLock(cache);
  try {
    const again = readManifest(dir);
    if (again && sameKey(again.key, key)) return { ...again, dir };
    cleanStale(cache);
    const started = Date.now();
    const tmp = path.join(cache, `.xenbits.tmp-${process.pid}`);
    rmrf(tmp);
    fs.mkdirSync(tmp);
    const scratch = path.join(tmp, ".scratch");
    fs.mkdirSync(scratch);
    const qemuWork = path.join(scratch, "qemu");
    const seabiosWork = path.join(scratch, "seabios");
    fs.mkdirSync(qemuWork);
    fs.mkdirSync(seabiosWork);
    const qemu = buildQemu(tmp, sources, mode, qemuWork);
    const seabios = buildSeabios(tmp, sources, seabiosWork);
    rmrf(scratch);
    const repos = {};
    for (const name of fs.readdirSync(tmp).filter((n) => n.endsWith(".git")).sort()) {
      repos[name.replace(/\.git$/, "")] = refsOf(path.join(tmp, name));
    }
    const manifest = {
      key,
      madeAt: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      qemu: {
        version: qemu.version,
        source: sources.qemuSource,
        patches: qemu.patches,
        tag: QEMU_TAG,
        branch: QEMU_BRANCH,
        commit: qemu.commits.patched,
        importCommit: qemu.commits.import,
        unpatched: { tag: QEMU_UNPATCHED_TAG, commit: qemu.commits.import },
        series: { branch: QEMU_SERIES_BRANCH, commit: qemu.commits.series, tree: qemu.seriesTree, patches: qemu.series },
        submodules: qemu.subs.map((s) => ({ name: s.name, path: s.path, url: `../${s.repo}.git`, commit: s.commit }))
      },
      seabios: { version: seabios.version, source: sources.seabiosSource, tags: seabios.commits },
      meson: { source: sources.mesonSource },
      repos
    };
    return publish(cache, tmp, dir, manifest);
  } finally {
    release();
  }
}

function main() {
  const argv = process.argv.slice(2);
  const print = argv.includes("--print");
  for (const a of argv) {
    if (a === "-h" || a === "--help") {
      process.stdout.write("usage: node test/e2e/fake-xenbits.mjs [--print]\n");
      return;
    }
    if (a !== "--print") throw new Failure(`unknown argument ${JSON.stringify(a)}`);
  }
  const rs = realSourcesAll();
  const result = ensureFakeXenbits({ cache: rs.cache, qemuSource: rs.qemuSource, seabiosSource: rs.seabiosSource, mesonSource: rs.mesonSource });
  if (print) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else log(`ready: ${result.dir}`);
}

const isMain = process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  try {
    main();
  } catch (err) {
    log(`error: ${err instanceof Failure ? err.message : err && err.stack ? err.stack : String(err)}`);
    process.exit(1);
  }
}
