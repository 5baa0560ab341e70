#!/usr/bin/env node
// A fake xenbits (and gitlab.com/qemu-project) for today's releases, made of Debian's trixie and sid
// sources (scripts/real-sources.mjs --today) laid out the way upstream QEMU git has them, and cached
// in <cache>/xenbits-today.
//
//   node test/e2e/fake-xenbits-today.mjs [--print]
//
//   qemu-xen.git
//     commit 1  QEMU 10.0.13 (trixie's 10.0.13+ds orig tarball), tag v10.0.13, branch stable-10.0
//     commit 2  QEMU 10.2.2 (sid's 10.2.2+ds), a child of commit 1, tag v10.2.2, branch master
//     HEAD: master.
//   qemu-project/keycodemapdb.git, qemu-project/berkeley-softfloat-3.git,
//   qemu-project/berkeley-testfloat-3.git
//     each the subproject the release tarball bundles, as its own repository (one commit per
//     distinct content); the wrap files of qemu-xen.git pin these commits.
//   seabios.git  SeaBIOS 1.16.3 (trixie), tag rel-1.16.3; SeaBIOS 1.17.0 (sid), tag rel-1.17.0,
//                master. Without the tarball-only .version file.
//   manifest.json  what was made from what; every ref and commit.
//
// How each QEMU commit is made from Debian's +ds tarball, to look like upstream git (and so like
// xenbits' qemu-xen, which follows it):
// - subprojects/ holds only the .wrap files (and the tree's own libvhost-user/libvduse, which are
//   in QEMU's git): the bundled keycodemapdb, berkeley-softfloat-3 and berkeley-testfloat-3 move
//   out into their own repositories above, and each wrap-git wrap's `revision` is set to that
//   repository's commit (the only change to a wrap: upstream pins gitlab's commits, which cannot be
//   made here). A wrap whose source is not bundled (libvfio-user is an empty directory in the +ds
//   tarball; dtc, slirp, libblkio and the Rust crates never are) keeps upstream's URL and revision:
//   this build does not need them, and xqbuild must not fetch them.
// - subprojects/packagefiles/berkeley-{softfloat,testfloat}-3/ get back the meson.build and
//   meson_options.txt that the tarball's bundled copies carry (upstream keeps them there, and the
//   wraps' patch_directory names them); Debian removes packagefiles/. The Rust crates' packagefiles
//   cannot be restored (nothing bundles them) and are not needed without Rust.
// - python/wheels/ gets the meson wheel back (Debian empties it). The wheel upstream vendors
//   (meson 1.5.0 for 10.0, 1.9.0 for 10.2) cannot be had on these machines: the local pip index
//   serves meson 1.12.1 only, so that wheel goes in and pythondeps.toml's `installed` key names it,
//   as upstream's comment there asks ("should match the version in python/wheels/"). pycotap (only
//   for QEMU's functional tests) is not served at all: its line is commented out, exactly as
//   Debian's own disable-pycotap.patch does.
// - pc-bios/: the prebuilt firmware blobs that pc-bios/meson.build installs (bios.bin, vgabios-*,
//   the edk2-*.fd.bz2, the .dtb files it installs when no dtc is found, ...) are stripped by Debian and are in no source package: stand-ins of the
//   same names are committed (a line of text saying what they stand in for; the .bz2 ones
//   bzip2-compressed), so that meson's install_blobs (on by default, as real qemu-xen ships them)
//   works as upstream's does. xqbuild's e2e builds the real SeaBIOS separately.
//
// Deterministic (fixed author, committer and dates), made in a temporary directory and renamed into
// place, serialised on <cache>/.xenbits-today.lock, rebuilt when its input key changes.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  Failure,
  acquireLock,
  cacheDir,
  commit,
  commitEnv,
  finishRepo,
  git,
  gitEnv,
  initBare,
  log,
  publish,
  readManifest,
  refsOf,
  rmrf,
  run,
  sameKey,
  stageAll,
  tag
} from "./fake-xenbits.mjs";

const GENERATOR_VERSION = 4;
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REAL_SOURCES = path.join(REPO_ROOT, "scripts", "real-sources.mjs");

/** The QEMU releases, in commit order, and their refs. */
export const QEMU_RELEASES = [
  { key: "qemu10Source", tag: "v10.0.13", branch: "stable-10.0" },
  { key: "qemu102Source", tag: "v10.2.2", branch: "master" }
];
export const SEABIOS_RELEASES = [
  { key: "seabios1163Source", tag: "rel-1.16.3" },
  { key: "seabios117Source", tag: "rel-1.17.0" }
];
/** Where QEMU's wrap-git subprojects live upstream, and the prefix they are served under here. */
export const GITLAB_PREFIX = "https://gitlab.com/qemu-project/";
export const PROJECT_DIR = "qemu-project";

const BLOB_NOTE = (name) =>
  `xqbuild e2e stand-in for QEMU's prebuilt pc-bios/${name}: Debian's +ds tarball strips the blob and no source package has it.\n`;

/** The .wrap file's keys (one [wrap-*] section). */
function wrapKeys(text) {
  const keys = {};
  let section;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      if (section) break;
      section = sec[1];
      continue;
    }
    const kv = /^([^=#;]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && section) keys[kv[1]] = kv[2];
  }
  return { section, keys };
}

/** The meson wheel of the local pip index, downloaded once into <cache>/wheels. */
function mesonWheel(cache) {
  const dir = path.join(cache, "wheels");
  const find = () => (fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => /^meson-[0-9.]+-py3-none-any\.whl$/.test(n)) : undefined);
  if (!find()) {
    fs.mkdirSync(dir, { recursive: true });
    log("pip download --no-deps meson (the local pip index)");
    const res = spawnSync("python3", ["-m", "pip", "download", "--no-deps", "--dest", dir, "meson"], { stdio: ["ignore", 2, 2], env: gitEnv() });
    if (res.status !== 0) throw new Failure("pip download --no-deps meson failed: python/wheels cannot be restored");
  }
  const name = find();
  if (!name) throw new Failure(`no meson wheel in ${dir}`);
  return { file: path.join(dir, name), name, version: /^meson-([0-9.]+)-/.exec(name)[1] };
}

/** One commit per distinct content in a repository kept across QEMU releases; returns its sha. */
function addSubprojectCommit(baseDir, state, repo, srcDir, what, i) {
  const bare = path.join(baseDir, PROJECT_DIR, `${repo}.git`);
  const index = path.join(baseDir, `.index-${repo}`);
  if (!fs.existsSync(bare)) {
    fs.mkdirSync(path.dirname(bare), { recursive: true });
    initBare(bare);
  }
  const env = commitEnv(bare, srcDir, index, i);
  rmrf(index);
  stageAll(env);
  const tree = git(["write-tree"], { env });
  const prev = state[repo];
  if (prev && prev.tree === tree) {
    rmrf(index);
    return prev.commit;
  }
  const sha = commit(env, `Import ${what}\n\nThe subproject QEMU's release tarball bundles, for xqbuild's fake gitlab.com/qemu-project.`, prev?.commit);
  git(["update-ref", "refs/heads/master", sha], { env: gitEnv({ GIT_DIR: bare }) });
  rmrf(index);
  state[repo] = { tree, commit: sha, bare };
  return sha;
}

/** Turns the unpacked +ds tree in `work` (a copy of the Debian tree named sourceName) into upstream git's layout (see the header). */
function layOutQemu(baseDir, work, sourceName, wheel, subState, i0) {
  const sub = path.join(work, "subprojects");
  const pins = {};
  let i = i0;
  for (const name of fs.readdirSync(sub).filter((n) => n.endsWith(".wrap")).sort()) {
    const wrapFile = path.join(sub, name);
    const text = fs.readFileSync(wrapFile, "utf8");
    const { section, keys } = wrapKeys(text);
    const wrapName = name.replace(/\.wrap$/, "");
    const dir = path.join(sub, keys.directory ?? wrapName);
    if (section !== "wrap-git" || !keys.url?.startsWith(GITLAB_PREFIX)) continue;
    const bundled = fs.existsSync(dir) && fs.readdirSync(dir).length > 0;
    if (!bundled) {
      rmrf(dir);
      continue;
    }
    const repo = keys.url.slice(GITLAB_PREFIX.length).replace(/\.git$/, "");
    if (keys.patch_directory) {
      // The overlay upstream keeps in packagefiles: what the bundled copy has that the project lacks.
      const overlay = path.join(sub, "packagefiles", keys.patch_directory);
      fs.mkdirSync(overlay, { recursive: true });
      for (const f of ["meson.build", "meson_options.txt", "meson.options"]) {
        if (fs.existsSync(path.join(dir, f))) fs.renameSync(path.join(dir, f), path.join(overlay, f));
      }
    }
    const from = path.join(baseDir, `.sub-${repo}-${process.pid}`);
    rmrf(from);
    fs.renameSync(dir, from);
    const sha = addSubprojectCommit(baseDir, subState, repo, from, `${repo} (bundled in ${sourceName})`, i++);
    rmrf(from);
    if (!/^revision\s*=.*$/m.test(text)) throw new Failure(`${wrapFile} has no revision line`);
    fs.writeFileSync(wrapFile, text.replace(/^revision\s*=.*$/m, `revision = ${sha}`));
    pins[wrapName] = { repo: `${PROJECT_DIR}/${repo}`, commit: sha };
  }

  // python/wheels and pythondeps.toml.
  const wheels = path.join(work, "python", "wheels");
  fs.mkdirSync(wheels, { recursive: true });
  fs.copyFileSync(wheel.file, path.join(wheels, wheel.name));
  const depsFile = path.join(work, "pythondeps.toml");
  let deps = fs.readFileSync(depsFile, "utf8");
  deps = deps.replace(/^(meson = \{[^}\n]*installed = ")[0-9.]+(")/gm, `$1${wheel.version}$2`);
  deps = deps.replace(/^pycotap = /m, "#pycotap = ");
  fs.writeFileSync(depsFile, deps);

  // pc-bios stand-ins.
  const pcbios = path.join(work, "pc-bios");
  const mesonText = fs.readFileSync(path.join(pcbios, "meson.build"), "utf8");
  const blobsList = /^blobs = \[([\s\S]*?)^\]/m.exec(mesonText)?.[1] ?? "";
  const fdsList = /fds = \[([\s\S]*?)\]/.exec(mesonText)?.[1] ?? "";
  const names = (list) => [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]);
  const standIns = [];
  for (const name of names(blobsList)) {
    const file = path.join(pcbios, name);
    if (fs.existsSync(file)) continue;
    fs.writeFileSync(file, BLOB_NOTE(name));
    standIns.push(name);
  }
  // The device trees meson installs prebuilt when no dtc is found: upstream commits each .dtb beside
  // its .dts (pc-bios/ in 10.0, pc-bios/dtb/ from 10.2).
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith(".dts")) {
        const dtb = full.replace(/\.dts$/, ".dtb");
        if (fs.existsSync(dtb)) continue;
        const rel = path.relative(pcbios, dtb);
        fs.writeFileSync(dtb, BLOB_NOTE(rel));
        standIns.push(rel);
      }
    }
  };
  walk(pcbios);
  for (const fd of names(fdsList)) {
    const file = path.join(pcbios, `${fd}.bz2`);
    if (fs.existsSync(file)) continue;
    const res = spawnSync("bzip2", ["-c"], { input: BLOB_NOTE(`${fd}.bz2`) });
    if (res.status !== 0) throw new Failure("bzip2 failed");
    fs.writeFileSync(file, res.stdout);
    standIns.push(`${fd}.bz2`);
  }
  return { pins, standIns, next: i };
}

function buildQemu(baseDir, sources, wheel) {
  const bare = path.join(baseDir, "qemu-xen.git");
  const index = path.join(baseDir, ".index-qemu-xen");
  initBare(bare);
  const subState = {};
  const out = [];
  let parent;
  let i = 30;
  for (const rel of QEMU_RELEASES) {
    const src = sources[rel.key];
    const work = path.join(baseDir, `.qemu-${process.pid}`);
    rmrf(work);
    log(`copying ${src}`);
    run("cp", ["-a", `${src}/.`, work], { env: gitEnv() });
    rmrf(path.join(work, "debian"));
    const laid = layOutQemu(baseDir, work, path.basename(src), wheel, subState, i);
    i = laid.next;
    const version = fs.readFileSync(path.join(work, "VERSION"), "utf8").trim();
    const env = commitEnv(bare, work, index, i++);
    rmrf(index);
    stageAll(env);
    const sha = commit(
      env,
      `QEMU ${version} from Debian's ${path.basename(src)} orig tarball, laid out as upstream git\n\n` +
        `subprojects/: wrap files only (${Object.keys(laid.pins).join(", ")} pinned to their repositories here);\n` +
        `packagefiles for the berkeley wraps restored; python/wheels: ${wheel.name} (pythondeps.toml names it;\n` +
        `pycotap commented out as Debian's disable-pycotap.patch does); stand-ins for ${laid.standIns.length} pc-bios blobs.`,
      parent
    );
    rmrf(index);
    rmrf(work);
    git(["update-ref", `refs/heads/${rel.branch}`, sha], { env: gitEnv({ GIT_DIR: bare }) });
    tag(bare, rel.tag, sha, `${rel.tag} (fake: QEMU ${version} from Debian)`, i++);
    out.push({ ...rel, version, commit: sha, source: src, wraps: laid.pins, standIns: laid.standIns });
    parent = sha;
  }
  finishRepo(bare);
  for (const s of Object.values(subState)) finishRepo(s.bare);
  return out;
}

function buildSeabios(baseDir, sources) {
  const bare = path.join(baseDir, "seabios.git");
  const index = path.join(baseDir, ".index-seabios");
  initBare(bare);
  const out = {};
  let parent;
  let i = 60;
  for (const rel of SEABIOS_RELEASES) {
    const src = sources[rel.key];
    const work = path.join(baseDir, `.seabios-${process.pid}`);
    rmrf(work);
    run("cp", ["-a", `${src}/.`, work], { env: gitEnv() });
    rmrf(path.join(work, ".version"));
    const env = commitEnv(bare, work, index, i++);
    rmrf(index);
    stageAll(env);
    const version = path.basename(src).replace(/^seabios-/, "");
    const sha = commit(env, `SeaBIOS ${version} from Debian's orig tarball`, parent);
    rmrf(index);
    rmrf(work);
    tag(bare, rel.tag, sha, rel.tag, i++);
    out[rel.tag] = sha;
    parent = sha;
  }
  git(["update-ref", "refs/heads/master", parent], { env: gitEnv({ GIT_DIR: bare }) });
  finishRepo(bare);
  return out;
}

/** The Debian trees, from scripts/real-sources.mjs --today --print. */
export function realSourcesToday() {
  const res = spawnSync(process.execPath, [REAL_SOURCES, "--today", "--print"], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
  if (res.error || res.status !== 0) throw new Failure(`node scripts/real-sources.mjs --today --print failed (${res.error?.message ?? `exit code ${res.status}`})`);
  return JSON.parse(res.stdout);
}

/** Make (once) and return the fake xenbits of today's releases; `dir` is the directory to serve. */
export function ensureFakeXenbitsToday(sources) {
  for (const rel of [...QEMU_RELEASES, ...SEABIOS_RELEASES]) {
    if (!sources[rel.key] || !fs.existsSync(sources[rel.key])) throw new Failure(`${rel.key} is missing: run node scripts/real-sources.mjs --today`);
  }
  const cache = sources.cache ? path.resolve(sources.cache) : cacheDir();
  const dir = path.join(cache, "xenbits-today");
  const wheel = mesonWheel(cache);
  const key = {
    generator: GENERATOR_VERSION,
    qemu: QEMU_RELEASES.map((r) => path.basename(sources[r.key])),
    seabios: SEABIOS_RELEASES.map((r) => path.basename(sources[r.key])),
    wheel: wheel.name
  };
  const quick = readManifest(dir);
  if (quick && sameKey(quick.key, key)) return { ...quick, dir };
  fs.mkdirSync(cache, { recursive: true });
  const release = acquireLock(cache, ".xenbits-today.lock");
  try {
    const again = readManifest(dir);
    if (again && sameKey(again.key, key)) return { ...again, dir };
    const started = Date.now();
    const tmp = path.join(cache, `.xenbits-today.tmp-${process.pid}`);
    rmrf(tmp);
    fs.mkdirSync(tmp);
    const qemu = buildQemu(tmp, sources, wheel);
    const seabios = buildSeabios(tmp, sources);
    for (const n of fs.readdirSync(tmp)) if (n.startsWith(".")) rmrf(path.join(tmp, n));
    const repos = {};
    const listRepos = (rel) => {
      for (const n of fs.readdirSync(path.join(tmp, rel)).sort()) {
        const r = rel ? `${rel}/${n}` : n;
        if (n.endsWith(".git")) repos[r.replace(/\.git$/, "")] = refsOf(path.join(tmp, r));
        else if (fs.statSync(path.join(tmp, r)).isDirectory()) listRepos(r);
      }
    };
    listRepos("");
    const manifest = { key, madeAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000, qemu, seabios: { tags: seabios }, wheel: wheel.name, repos };
    return publish(cache, tmp, dir, manifest);
  } finally {
    release();
  }
}

const isMain = process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  try {
    const print = process.argv.includes("--print");
    const result = ensureFakeXenbitsToday(realSourcesToday());
    if (print) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else log(`ready: ${result.dir}`);
  } catch (err) {
    log(`error: ${err instanceof Failure ? err.message : err && err.stack ? err.stack : String(err)}`);
    process.exit(1);
  }
}
