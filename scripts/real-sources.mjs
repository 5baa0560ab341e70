#!/usr/bin/env node
// Fetch, unpack and configure the real upstream sources that xqbuild's end-to-end tests build against.
//
//   node scripts/real-sources.mjs [--all] [--print]
//
// Cache: $XQBUILD_E2E_CACHE, else $HOME/.cache/xqbuild-e2e.
//   <cache>/debian/          Debian source packages (apt-get source --download-only)
//   <cache>/src/<pkg>-<ver>/ unpacked upstream trees (orig tarball; qemu also gets its debian/ dir)
//   <cache>/xen-configured/  a copy of the Xen tree, configured with CONFIGURE_ARGS below
//
// By default: xen and seabios are downloaded, the Xen tree is unpacked and configured.
// --all:   also download qemu and meson, and unpack seabios, qemu (+ debian/) and meson.
// --today: also download and unpack today's releases (QEMU 10.0 and SeaBIOS 1.16.3 from trixie;
//          QEMU 10.2 and SeaBIOS 1.17.0 from sid, the newest this archive serves whole), through a
//          deb-src stanza for trixie and sid, with APT::Default-Release kept on the host's suite.
// --print: print a JSON summary on stdout (progress always goes to stderr).
//
// Every package is pinned to an exact version and the sha256 of its .dsc (PACKAGES below): the
// archive moves, and an unpinned `apt-get source xen` with a newer suite's deb-src line takes that
// suite's Xen. Found here: trixie's and sid's xen 4.20.4 and sid's qemu 11.1.x answer 404 (the .dsc
// and the tarballs alike), so they are not listed.
//
// Idempotent: every tree is made in a temporary directory and renamed into place when complete, so
// an interrupted run never leaves a half tree, and a run with everything cached only stats a few
// files. Concurrent runs (parallel test workers) serialise on <cache>/.lock.
// See shared/REAL-SOURCES.md for where these steps come from.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { acquireDirLock } from "../test/support/dir-lock.mjs";

const CONFIGURE_ARGS = ["--disable-docs", "--disable-stubdom", "--disable-xen", "--disable-ocamltools"];
const MARKER = ".xqbuild-configured";

// REAL-SOURCES.md: what building QEMU 7.2 with Xen support and SeaBIOS needed, then what Xen 4.17's
// own ./configure also needs. pkg-config is added because configure's PKG_CHECK_MODULES needs it.
const BUILD_DEPS = [
  "libxen-dev", "libglib2.0-dev", "libpixman-1-dev", "libfdt-dev", "libslirp-dev", "meson",
  "ninja-build", "flex", "bison", "python3-venv", "libusb-1.0-0-dev", "libcap-ng-dev", "libattr1-dev",
  "bzip2", "iasl",
  "uuid-dev", "libyajl-dev", "libnl-3-dev", "libnl-route-3-dev", "libncurses-dev", "python3-dev",
  "zlib1g-dev", "liblzma-dev", "libzstd-dev", "libbz2-dev", "liblzo2-dev", "acpica-tools",
  "pkg-config",
  // src/build/ccache.ts and its tests compile through the real ccache (PATH masquerading).
  "ccache",
  // test/cache/remote.test.ts serves the remote artifact cache with the real nginx (WebDAV PUT) on
  // loopback; Debian's "nginx" has the dav module (nginx-light only adds the echo module to it).
  "nginx",
  // test/report/tty-pty.test.ts runs xqbuild's live view in a real terminal: tmux's pty.
  "tmux"
];
// Virtual packages: dpkg never reports them installed (iasl is provided by acpica-tools).
const VIRTUAL_PACKAGES = new Set(["iasl"]);

/**
 * The Debian source packages the tests build from, each pinned to an exact version and the sha256 of
 * its .dsc (which pins every tarball through its Checksums-Sha256). `suite` is where apt finds it:
 * the host's own (bookworm), or a newer one reached through NEWER_SUITES' deb-src stanza.
 */
const PACKAGES = {
  xen: { pkg: "xen", version: "4.17.5+72-g01140da4e8-1", dsc: "f13956b67fb7a65707c2b0620d89b41ee5d203434dd7bb913017356791ee66c1", suite: "bookworm" },
  seabios: { pkg: "seabios", version: "1.16.2-1", dsc: "32bcfddb7c78fab3d983ab3c557398a4013a11e55dcd8a9c3de273e74a56b9c3", suite: "bookworm" },
  qemu: { pkg: "qemu", version: "1:7.2+dfsg-7+deb12u18", dsc: "6b6bd27b947ec89e40a1d6b26d9c9f3c698ca691da13163e0483f6061bbb20b3", suite: "bookworm", withDebian: true },
  meson: { pkg: "meson", version: "1.0.1-5", dsc: "1fca26f595c67cf10306c66f2d56c909ec2b443cdd8f23cc4c248e0e2a201c34", suite: "bookworm" },
  qemu10: { pkg: "qemu", version: "1:10.0.13+ds-0+deb13u1", dsc: "a426c892e5369058c3423816c8625bc8010bb5a58ece57261f62b64ee4d765ad", suite: "trixie" },
  seabios1163: { pkg: "seabios", version: "1.16.3-2", dsc: "1a95960c0f7e5c5a4c04bed1b5c3359b7518099b15a4ab8e8d37f50b8c3f6b36", suite: "trixie" },
  qemu102: { pkg: "qemu", version: "1:10.2.2+ds-1", dsc: "f1684b3aa5ec500c3389d346c6501dee45041ea91656c6556d4da9023b7987dd", suite: "sid" },
  seabios117: { pkg: "seabios", version: "1.17.0-1", dsc: "5ee0cd7f4c5d45d8cd13c3f66c9f908e769b4bd7f319508b3a6da80ecef3bb46", suite: "sid" }
};
/** The suites newer than the host's that PACKAGES needs a deb-src stanza for. */
const NEWER_SUITES = ["trixie", "sid"];
const NEWER_SRC_SOURCES = "/etc/apt/sources.list.d/xqbuild-newer-src.sources";
const DEFAULT_RELEASE_CONF = "/etc/apt/apt.conf.d/99xqbuild-default-release";

const DEBIAN_SOURCES = "/etc/apt/sources.list.d/debian.sources";
const DEB_SRC_SOURCES = "/etc/apt/sources.list.d/deb-src.sources";
const DEB_SRC_LIST = "/etc/apt/sources.list.d/deb-src.list";
const AWK_DEB_SRC = 'BEGIN{RS="";ORS="\\n\\n"} NR==1{sub(/Types: deb/,"Types: deb-src"); print}';

class Failure extends Error {}

function log(message) {
  process.stderr.write(`real-sources: ${message}\n`);
}

function usage() {
  return "usage: node scripts/real-sources.mjs [--all] [--today] [--print]";
}

function parseArgs(argv) {
  const opts = { all: false, today: false, print: false };
  for (const arg of argv) {
    if (arg === "--all") opts.all = true;
    else if (arg === "--today") opts.today = true;
    else if (arg === "--print") opts.print = true;
    else if (arg === "-h" || arg === "--help") {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    } else throw new Failure(`unknown argument ${JSON.stringify(arg)}\n${usage()}`);
  }
  return opts;
}

function cacheDir() {
  const fromEnv = process.env.XQBUILD_E2E_CACHE;
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(process.env.HOME || os.homedir(), ".cache", "xqbuild-e2e");
}

/** The environment for child processes: no make state leaking in from a calling make. */
function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const name of ["MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"]) delete env[name];
  return env;
}

/**
 * Run a program (argv array, never a shell string). Its stdout goes to our stderr so that --print's
 * stdout stays pure JSON. With logFile, both of its streams go to that file instead.
 */
function run(cmd, args, { cwd, env, logFile } = {}) {
  let fd;
  let stdio = ["ignore", 2, 2];
  if (logFile) {
    fd = fs.openSync(logFile, "a");
    stdio = ["ignore", fd, fd];
  }
  try {
    const res = spawnSync(cmd, args, { cwd, env: env ?? childEnv(), stdio });
    if (res.error) {
      if (res.error.code === "ENOENT") return { ok: false, status: 127, why: `${cmd}: command not found` };
      return { ok: false, status: -1, why: `${cmd}: ${res.error.message}` };
    }
    const why = res.signal ? `killed by ${res.signal}` : `exit code ${res.status}`;
    return { ok: res.status === 0, status: res.status ?? -1, why: `${cmd} ${args.join(" ")}: ${why}` };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Run a program and return its stdout, or undefined when it fails. */
function capture(cmd, args, { cwd } = {}) {
  const res = spawnSync(cmd, args, { cwd, env: childEnv(), stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (res.error || res.status !== 0) return undefined;
  return res.stdout;
}

function which(cmd) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function exists(p) {
  return fs.existsSync(p);
}

function isRoot() {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

// ---------------------------------------------------------------------------------------------
// Locking: test/support/dir-lock.mjs (a directory made with mkdir, holding the owner's pid).

function acquireLock(cache) {
  return acquireDirLock(path.join(cache, ".lock"), {
    log,
    fail: (message) => {
      throw new Failure(message);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Debian source packages

/** Parse a .dsc (possibly PGP-signed): Source, Version and the files with size and sha256. */
function parseDsc(file) {
  const text = fs.readFileSync(file, "utf8");
  const fields = {};
  const lists = { "Checksums-Sha256": [], Files: [] };
  let current;
  for (const line of text.split("\n")) {
    if (line.startsWith("-----BEGIN PGP SIGNATURE")) break;
    if (/^\s/.test(line) && current && line.trim()) {
      if (current in lists) lists[current].push(line.trim().split(/\s+/));
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) {
      current = m[1];
      fields[current] = m[2];
    } else current = undefined;
  }
  const version = fields.Version;
  if (!fields.Source || !version) throw new Failure(`${file}: not a Debian source control file`);
  let files;
  if (lists["Checksums-Sha256"].length > 0) {
    files = lists["Checksums-Sha256"].map(([sha256, size, name]) => ({ name, size: Number(size), sha256 }));
  } else {
    files = lists.Files.map(([, size, name]) => ({ name, size: Number(size), sha256: undefined }));
  }
  if (files.length === 0) throw new Failure(`${file}: lists no files`);
  // upstream version: drop the epoch and the Debian revision
  const upstream = version.replace(/^\d+:/, "").replace(/-[^-]*$/, "");
  return { source: fields.Source, version, upstream, dsc: file, files };
}

/**
 * The files of a source package that the trees here are made from: the orig tarball(s) and, only
 * when asked, the Debian tarball. (The archive may lack a file that is not needed: meson's
 * .debian.tar.xz was seen answering 404 while its .dsc and orig tarball were there.)
 */
function neededFiles(info, withDebian) {
  return info.files.filter(
    (f) =>
      /\.orig(-[A-Za-z0-9][A-Za-z0-9-]*)?\.tar\.[a-z0-9]+$/.test(f.name) ||
      (withDebian && (/\.debian\.tar\.[a-z0-9]+$/.test(f.name) || /\.diff\.gz$/.test(f.name)))
  );
}

function filesPresent(dir, info, withDebian) {
  return neededFiles(info, withDebian).every((f) => {
    try {
      return fs.statSync(path.join(dir, f.name)).size === f.size;
    } catch {
      return false;
    }
  });
}

/** The download of a pinned package in dir (its .dsc by name, checked by sha256), or undefined. */
function findPackage(dir, spec) {
  const upstreamAndRev = spec.version.replace(/^\d+:/, "");
  const dsc = path.join(dir, `${spec.pkg}_${upstreamAndRev}.dsc`);
  if (!exists(dsc)) return undefined;
  if (sha256File(dsc) !== spec.dsc) throw new Failure(`${dsc}: sha256 ${sha256File(dsc)} is not the pinned ${spec.dsc}; remove it and run again`);
  const info = parseDsc(dsc);
  if (info.source !== spec.pkg || info.version !== spec.version) throw new Failure(`${dsc}: is ${info.source} ${info.version}, not ${spec.pkg} ${spec.version}`);
  return filesPresent(dir, info, spec.withDebian) ? info : undefined;
}

function sha256File(file) {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

function verifyChecksums(dir, info, withDebian) {
  for (const f of neededFiles(info, withDebian)) {
    if (!f.sha256) continue;
    const got = sha256File(path.join(dir, f.name));
    if (got !== f.sha256) throw new Failure(`${f.name}: sha256 ${got} does not match ${info.dsc} (${f.sha256})`);
  }
}

function hasDebSrc() {
  const files = [];
  if (exists("/etc/apt/sources.list")) files.push("/etc/apt/sources.list");
  try {
    for (const n of fs.readdirSync("/etc/apt/sources.list.d")) files.push(path.join("/etc/apt/sources.list.d", n));
  } catch {
    // no directory
  }
  for (const file of files) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    if (file.endsWith(".sources") && /^Types:.*\bdeb-src\b/m.test(text)) return true;
    if (file.endsWith(".list") && /^\s*deb-src\s/m.test(text)) return true;
  }
  return false;
}

/** Make a deb-src source list from the machine's own one when there is none. True when created. */
function ensureDebSrc() {
  if (hasDebSrc()) return false;
  if (!isRoot()) {
    throw new Failure("no deb-src entry in /etc/apt and not root: add one (see shared/REAL-SOURCES.md) or run as root");
  }
  if (exists(DEBIAN_SOURCES)) {
    // REAL-SOURCES.md's recipe: the first stanza of the machine's list, with Types turned into deb-src.
    const res = spawnSync("awk", [AWK_DEB_SRC, DEBIAN_SOURCES], { encoding: "utf8", env: childEnv() });
    if (res.error || res.status !== 0 || !/deb-src/.test(res.stdout)) {
      throw new Failure(`could not derive a deb-src stanza from ${DEBIAN_SOURCES}: ${res.stderr || res.error}`);
    }
    fs.writeFileSync(DEB_SRC_SOURCES, res.stdout);
    log(`wrote ${DEB_SRC_SOURCES}`);
    return true;
  }
  if (exists("/etc/apt/sources.list")) {
    const lines = fs
      .readFileSync("/etc/apt/sources.list", "utf8")
      .split("\n")
      .filter((l) => /^\s*deb\s/.test(l))
      .map((l) => l.replace(/^\s*deb\s/, "deb-src "));
    if (lines.length > 0) {
      fs.writeFileSync(DEB_SRC_LIST, `${lines.join("\n")}\n`);
      log(`wrote ${DEB_SRC_LIST}`);
      return true;
    }
  }
  throw new Failure(`found neither ${DEBIAN_SOURCES} nor deb lines in /etc/apt/sources.list to derive deb-src from`);
}

/** The host's own suite (VERSION_CODENAME of /etc/os-release), e.g. bookworm. */
function hostSuite() {
  const text = readOr("/etc/os-release") ?? "";
  const m = /^VERSION_CODENAME=["']?([a-z]+)/m.exec(text);
  if (!m) throw new Failure("cannot tell the host's Debian suite (no VERSION_CODENAME in /etc/os-release)");
  return m[1];
}

/** The URI and keyring of the machine's first deb stanza, for a deb-src stanza of newer suites. */
function firstStanza() {
  if (exists(DEBIAN_SOURCES)) {
    const text = fs.readFileSync(DEBIAN_SOURCES, "utf8").split(/\n\s*\n/)[0];
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1];
    const signedBy = /^Signed-By:\s*(\S+)/m.exec(text)?.[1];
    if (uri) return { uri, signedBy };
  }
  const line = (readOr("/etc/apt/sources.list") ?? "").split("\n").find((l) => /^\s*deb\s/.test(l));
  const uri = line ? line.trim().split(/\s+/).find((w) => /^[a-z]+:\/\//.test(w)) : undefined;
  if (uri) return { uri, signedBy: undefined };
  throw new Failure(`found neither ${DEBIAN_SOURCES} nor deb lines in /etc/apt/sources.list to derive a deb-src stanza from`);
}

/**
 * A deb-src stanza for the newer suites, and APT::Default-Release on the host's suite so that an
 * unpinned install or `apt-get source` still takes the host's packages: nothing else on the machine
 * changes. True when anything was written (the lists then need an update).
 */
function ensureNewerSrc() {
  const host = hostSuite();
  let wrote = false;
  if (!exists(NEWER_SRC_SOURCES)) {
    if (!isRoot()) throw new Failure(`no deb-src stanza for ${NEWER_SUITES.join(" ")} (${NEWER_SRC_SOURCES}) and not root: add one (see shared/REAL-SOURCES.md) or run as root`);
    const { uri, signedBy } = firstStanza();
    const stanza = ["Types: deb-src", `URIs: ${uri}`, `Suites: ${NEWER_SUITES.join(" ")}`, "Components: main", ...(signedBy ? [`Signed-By: ${signedBy}`] : [])];
    fs.writeFileSync(NEWER_SRC_SOURCES, `# xqbuild's e2e: source packages of newer suites (scripts/real-sources.mjs)\n${stanza.join("\n")}\n`);
    log(`wrote ${NEWER_SRC_SOURCES}`);
    wrote = true;
  }
  const dump = capture("apt-config", ["dump", "APT::Default-Release"]) ?? "";
  if (!/APT::Default-Release\s+"[^"]+"/.test(dump)) {
    if (!isRoot()) throw new Failure(`APT::Default-Release is not set and not root: set it to "${host}" (see shared/REAL-SOURCES.md)`);
    fs.writeFileSync(DEFAULT_RELEASE_CONF, `// xqbuild's e2e added deb-src lines for newer suites; the host stays on its own.\nAPT::Default-Release "${host}";\n`);
    log(`wrote ${DEFAULT_RELEASE_CONF} (APT::Default-Release "${host}")`);
    wrote = true;
  }
  return wrote;
}

function aptUpdate() {
  log("apt-get update");
  const res = run("apt-get", ["update"]);
  if (!res.ok) throw new Failure(`apt-get update failed (${res.why})`);
}

/** apt-get source --download-only of exact versions (specs from PACKAGES). */
function downloadSources(debianDir, specs) {
  let updated = false;
  const newer = specs.some((s) => s.suite !== "bookworm");
  if (ensureDebSrc() | (newer && ensureNewerSrc())) {
    aptUpdate();
    updated = true;
  }
  const args = ["source", "--download-only", ...specs.map((s) => `${s.pkg}=${s.version}`)];
  log(`apt-get ${args.join(" ")} (in ${debianDir})`);
  let res = run("apt-get", args, { cwd: debianDir });
  if (!res.ok && !updated) {
    log("apt-get source failed; updating the package lists and trying again");
    aptUpdate();
    res = run("apt-get", args, { cwd: debianDir });
  }
  if (!res.ok) log(`warning: ${res.why}; carrying on if the files needed here did arrive`);
  return res;
}

/** names: keys of PACKAGES. Returns name -> the parsed .dsc, every needed file present and checked. */
function ensurePackages(debianDir, names) {
  const infos = {};
  const missing = [];
  for (const name of names) {
    const info = findPackage(debianDir, PACKAGES[name]);
    if (info) infos[name] = info;
    else missing.push(name);
  }
  if (missing.length === 0) return infos;
  fs.mkdirSync(debianDir, { recursive: true });
  const res = downloadSources(debianDir, missing.map((n) => PACKAGES[n]));
  for (const name of missing) {
    const spec = PACKAGES[name];
    const info = findPackage(debianDir, spec);
    if (!info) {
      throw new Failure(
        `could not download the Debian source package ${spec.pkg}=${spec.version} (${spec.suite}) into ${debianDir}` +
          (res.ok ? "" : ` (${res.why})`) +
          `. If that version has left the archive (Debian's mirrors drop superseded versions; snapshot.debian.org keeps them), either put its .dsc` +
          ` (sha256 ${spec.dsc}) and the files it lists into ${debianDir} by hand, or pin the version the archive now has in PACKAGES in` +
          ` scripts/real-sources.mjs, with its suite and the sha256 of its .dsc (apt-cache showsrc ${spec.pkg} lists them); the fake xenbits are then remade`
      );
    }
    verifyChecksums(debianDir, info, spec.withDebian);
    infos[name] = info;
  }
  return infos;
}

// ---------------------------------------------------------------------------------------------
// apt-get install of build dependencies

function installedPackages(pkgs) {
  const res = spawnSync("dpkg-query", ["-W", "-f", "${Package} ${db:Status-Status}\\n", ...pkgs], {
    encoding: "utf8",
    env: childEnv()
  });
  const installed = new Set();
  for (const line of (res.stdout || "").split("\n")) {
    const [name, status] = line.trim().split(/\s+/);
    if (name && status === "installed") installed.add(name.replace(/:.*$/, ""));
  }
  return installed;
}

function missingBuildDeps() {
  const real = BUILD_DEPS.filter((p) => !VIRTUAL_PACKAGES.has(p));
  const installed = installedPackages(real);
  return real.filter((p) => !installed.has(p));
}

function aptInstall(pkgs) {
  if (!isRoot()) throw new Failure(`missing packages ${pkgs.join(" ")}: install them (needs root)`);
  const env = childEnv({ DEBIAN_FRONTEND: "noninteractive" });
  const args = ["install", "-y", ...pkgs];
  log(`apt-get ${args.join(" ")}`);
  let res = run("apt-get", args, { env });
  if (!res.ok) {
    log("apt-get install failed; updating the package lists and trying again");
    aptUpdate();
    res = run("apt-get", args, { env });
  }
  if (!res.ok) throw new Failure(`apt-get install ${pkgs.join(" ")} failed (${res.why})`);
}

// ---------------------------------------------------------------------------------------------
// Unpacking

function needTool(archive) {
  if (/\.tar\.xz$/.test(archive) && !which("xz")) aptInstall(["xz-utils"]);
  if (/\.tar\.bz2$/.test(archive) && !which("bzip2")) aptInstall(["bzip2"]);
}

function untar(archive, dest) {
  needTool(archive);
  const res = run("tar", ["-xf", archive, "-C", dest, "--no-same-owner"]);
  if (!res.ok) throw new Failure(`could not unpack ${archive} (${res.why})`);
}

/**
 * Unpack a source package into <srcDir>/<pkg>-<upstream version>, through a temporary directory.
 * withDebian: also unpack the .debian.tar.* into the tree (as dpkg-source does, without patching).
 */
function unpack(debianDir, srcDir, info, withDebian) {
  const target = path.join(srcDir, `${info.source}-${info.upstream}`);
  if (exists(target)) return target;
  const orig = info.files.find((f) => /\.orig\.tar\.[a-z0-9]+$/.test(f.name));
  if (!orig) throw new Failure(`${info.dsc}: no .orig.tar.* (native package?)`);
  fs.mkdirSync(srcDir, { recursive: true });
  const tmp = path.join(srcDir, `.tmp-${info.source}-${process.pid}`);
  rmrf(tmp);
  fs.mkdirSync(tmp);
  try {
    log(`unpacking ${orig.name}`);
    untar(path.join(debianDir, orig.name), tmp);
    const entries = fs.readdirSync(tmp);
    const only = entries.length === 1 ? path.join(tmp, entries[0]) : undefined;
    const root = only && fs.statSync(only).isDirectory() ? only : tmp;
    for (const f of info.files) {
      const m = /\.orig-([A-Za-z0-9][A-Za-z0-9-]*)\.tar\.[a-z0-9]+$/.exec(f.name);
      if (!m) continue;
      const dir = path.join(root, m[1]);
      rmrf(dir);
      fs.mkdirSync(dir);
      log(`unpacking ${f.name} into ${m[1]}/`);
      untar(path.join(debianDir, f.name), dir);
      // component tarballs, like the orig one, usually hold one top directory: flatten it
      const inner = fs.readdirSync(dir);
      if (inner.length === 1 && fs.statSync(path.join(dir, inner[0])).isDirectory()) {
        const moved = `${dir}.flatten`;
        fs.renameSync(path.join(dir, inner[0]), moved);
        fs.rmdirSync(dir);
        fs.renameSync(moved, dir);
      }
    }
    if (withDebian) {
      const deb = info.files.find((f) => /\.debian\.tar\.[a-z0-9]+$/.test(f.name));
      if (!deb) throw new Failure(`${info.dsc}: no .debian.tar.*`);
      log(`unpacking ${deb.name}`);
      untar(path.join(debianDir, deb.name), root);
    }
    fs.renameSync(root, target);
  } finally {
    rmrf(tmp);
  }
  log(`unpacked ${target}`);
  return target;
}

// ---------------------------------------------------------------------------------------------
// The configured Xen tree

function readMarker(tree) {
  try {
    return JSON.parse(fs.readFileSync(path.join(tree, MARKER), "utf8"));
  } catch {
    return undefined;
  }
}

function shellQuoteArgs(args) {
  return args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
}

function configuredOk(tree, source) {
  const marker = readMarker(tree);
  return marker !== undefined && marker.source === source && shellQuoteArgs(marker.args ?? []) === shellQuoteArgs(CONFIGURE_ARGS);
}

function writeMarker(tree, source, how) {
  const marker = { source, args: CONFIGURE_ARGS, how, date: new Date().toISOString() };
  fs.writeFileSync(path.join(tree, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
}

/** An existing configured tree without our marker (made by hand): adopt it when it matches. */
function adoptable(tree, source) {
  if (!exists(path.join(tree, "config", "Tools.mk")) || !exists(path.join(tree, "config.status"))) return false;
  const have = capture("./config.status", ["--config"], { cwd: tree });
  if (have === undefined || have.trim() !== shellQuoteArgs(CONFIGURE_ARGS)) return false;
  // same Xen release as the source tree?
  const a = readOr(path.join(tree, "xen", "Makefile"));
  const b = readOr(path.join(source, "xen", "Makefile"));
  return a !== undefined && a === b;
}

function readOr(file) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function removeTree(cache, tree) {
  const trash = path.join(cache, `.trash-${path.basename(tree)}-${process.pid}`);
  fs.renameSync(tree, trash);
  rmrf(trash);
}

function ensureConfigured(cache, source) {
  const tree = path.join(cache, "xen-configured");
  if (configuredOk(tree, source)) return tree;
  if (exists(tree)) {
    if (adoptable(tree, source)) {
      log(`adopting the existing configured tree ${tree}`);
      writeMarker(tree, source, "adopted");
      return tree;
    }
    log(`replacing ${tree} (configured from another source or with other options)`);
    removeTree(cache, tree);
  }
  const tmp = path.join(cache, `.xen-configured.tmp-${process.pid}`);
  const logFile = path.join(cache, "xen-configure.log");
  rmrf(tmp);
  try {
    const cp = run("cp", ["-a", source, tmp]);
    if (!cp.ok) throw new Failure(`could not copy ${source} (${cp.why})`);
    fs.writeFileSync(logFile, "");
    const configure = () => {
      log(`./configure ${CONFIGURE_ARGS.join(" ")} (log: ${logFile})`);
      return run("./configure", CONFIGURE_ARGS, { cwd: tmp, logFile });
    };
    let res = configure();
    if (!res.ok) {
      const missing = missingBuildDeps();
      if (missing.length === 0) throw new Failure(`Xen's configure failed (${res.why}):\n${tail(logFile, 30)}`);
      log(`configure failed; installing missing build dependencies: ${missing.join(" ")}`);
      aptInstall(missing);
      res = configure();
      if (!res.ok) throw new Failure(`Xen's configure failed again after installing packages (${res.why}):\n${tail(logFile, 30)}`);
    }
    writeMarker(tmp, source, "configured");
    fs.renameSync(tmp, tree);
  } finally {
    rmrf(tmp);
  }
  log(`configured ${tree}`);
  return tree;
}

function tail(file, n) {
  const lines = (readOr(file) ?? "").trimEnd().split("\n");
  return lines.slice(-n).join("\n");
}

// ---------------------------------------------------------------------------------------------

function cleanStale(cache) {
  // Only called with the lock held: every temporary tree left now belongs to an interrupted run.
  const dirs = [cache, path.join(cache, "src")];
  for (const dir of dirs) {
    let names = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (/^\.(tmp-|trash-|xen-configured\.tmp-)/.test(n)) {
        log(`removing leftover ${path.join(dir, n)}`);
        rmrf(path.join(dir, n));
      }
    }
  }
}

/** The keys of PACKAGES to download, and those of them to unpack. */
function wanted(opts) {
  const download = ["xen", "seabios"];
  if (opts.all) download.push("qemu", "meson");
  if (opts.today) download.push("qemu10", "seabios1163", "qemu102", "seabios117");
  const unpack = opts.all || opts.today ? download : ["xen"];
  return { download, unpack };
}

/** Everything already in place? Only stats files (and hashes the small .dsc files); no lock, no network. */
function quickState(cache, opts) {
  const debianDir = path.join(cache, "debian");
  const srcDir = path.join(cache, "src");
  const want = wanted(opts);
  const infos = {};
  for (const name of want.download) {
    const info = findPackage(debianDir, PACKAGES[name]);
    if (!info) return undefined;
    infos[name] = info;
  }
  const trees = {};
  for (const name of want.unpack) {
    const info = infos[name];
    const tree = path.join(srcDir, `${info.source}-${info.upstream}`);
    if (!exists(tree)) return undefined;
    trees[name] = tree;
  }
  const configured = path.join(cache, "xen-configured");
  if (!configuredOk(configured, trees.xen)) return undefined;
  return { infos, trees, configured };
}

/** The summary's key for each unpacked tree. */
const SUMMARY_KEYS = {
  seabios: "seabiosSource",
  qemu: "qemuSource",
  meson: "mesonSource",
  qemu10: "qemu10Source",
  seabios1163: "seabios1163Source",
  qemu102: "qemu102Source",
  seabios117: "seabios117Source"
};

function summary(cache, state) {
  const out = {
    cache,
    xenTree: state.configured,
    xenSource: state.trees.xen,
    xenVersion: state.infos.xen.upstream,
    debianDir: path.join(cache, "debian"),
    packages: {}
  };
  for (const [name, info] of Object.entries(state.infos)) {
    out.packages[name] = {
      version: info.version,
      dsc: info.dsc,
      files: info.files.map((f) => path.join(out.debianDir, f.name)).filter((f) => exists(f))
    };
  }
  for (const [name, key] of Object.entries(SUMMARY_KEYS)) if (state.trees[name]) out[key] = state.trees[name];
  return out;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cache = cacheDir();
  // The tests need these whether or not the sources are cached (ccache, nginx, the QEMU build's
  // libraries): install what is missing up front, as root; otherwise say what to install.
  const missing = missingBuildDeps();
  if (missing.length > 0) {
    if (isRoot()) aptInstall(missing);
    else log(`warning: missing packages ${missing.join(" ")}; install them as root (apt-get install ${missing.join(" ")})`);
  }
  let state = quickState(cache, opts);
  if (state) {
    log(`everything is cached in ${cache}`);
  } else {
    fs.mkdirSync(cache, { recursive: true });
    const release = acquireLock(cache);
    try {
      cleanStale(cache);
      const debianDir = path.join(cache, "debian");
      const srcDir = path.join(cache, "src");
      const want = wanted(opts);
      const infos = ensurePackages(debianDir, want.download);
      const trees = {};
      for (const name of want.unpack) trees[name] = unpack(debianDir, srcDir, infos[name], PACKAGES[name].withDebian);
      const configured = ensureConfigured(cache, trees.xen);
      state = { infos, trees, configured };
    } finally {
      release();
    }
  }
  if (opts.print) process.stdout.write(`${JSON.stringify(summary(cache, state), null, 2)}\n`);
}

try {
  main();
} catch (err) {
  if (err instanceof Failure) {
    log(`error: ${err.message}`);
  } else {
    log(`error: ${err && err.stack ? err.stack : String(err)}`);
  }
  process.exit(1);
}
