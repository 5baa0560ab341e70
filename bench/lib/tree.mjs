// Fresh copies of the configured Xen 4.17 tree, their .config, and reading back what a run did.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { GLUE_OUTPUTS } from "../../test/support/tree-outputs.mjs";


/**
 * A private copy (cp -a) of the configured Xen tree at dest, with a .config pointing at the loopback
 * xenbits, and other files at its top (name → text: xqbuild's config file with the mirrors setting).
 */
export function freshTree(from, dest, dotConfig, files = {}) {
  if (fs.existsSync(dest)) fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  execFileSync("cp", ["-a", `${from}/.`, `${dest}/`], { stdio: ["ignore", "ignore", "pipe"] });
  for (const rel of GLUE_OUTPUTS) fs.rmSync(path.join(dest, rel), { recursive: true, force: true });
  fs.writeFileSync(path.join(dest, ".config"), dotConfig);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dest, name), text);
  return dest;
}

export function dotConfig(port, qemuRevision, seabiosRevision) {
  return [
    "# xqbuild benchmark: the fake xenbits on loopback (through the bench's counting proxy), over git://",
    `QEMU_UPSTREAM_URL = git://127.0.0.1:${port}/qemu-xen.git`,
    `SEABIOS_UPSTREAM_URL = git://127.0.0.1:${port}/seabios.git`,
    `QEMU_UPSTREAM_REVISION = ${qemuRevision}`,
    `SEABIOS_UPSTREAM_REVISION = ${seabiosRevision}`,
    ""
  ].join("\n");
}

export function removeTree(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The built artefacts of a tree, or the ones missing. */
export function builtOutputs(tree) {
  const files = {
    qemu: path.join(tree, "tools", "qemu-xen-build", "qemu-system-i386"),
    bios: path.join(tree, "tools", "firmware", "seabios-dir", "out", "bios.bin")
  };
  const missing = Object.entries(files)
    .filter(([, f]) => !fs.existsSync(f))
    .map(([k]) => k);
  return { files, missing };
}

/** Whether a file holds a string (false when the file is missing). */
export function fileHas(file, text) {
  try {
    return fs.readFileSync(file, "utf8").includes(text);
  } catch {
    return false;
  }
}

/** Is ccache named anywhere in the QEMU build's ninja file or SeaBIOS's make output? */
export function ccacheInBuild(tree) {
  return fileHas(path.join(tree, "tools", "qemu-xen-build", "build.ninja"), "ccache");
}

/** Counts ninja edges ("[12/345] Compiling C object ...") in some build output. */
export function ninjaSteps(text) {
  return (text.match(/^\[\d+\/\d+\] /gm) ?? []).length;
}

/** Counts ninja edges that compiled or linked something. */
function ninjaCompiles(text) {
  return (text.match(/^\[\d+\/\d+\] (Compiling|Linking)/gm) ?? []).length;
}

/** SeaBIOS's make prints "  Compile checking out/src/x.o", "  Linking out/rom.o", ... */
function seabiosSteps(text) {
  return (text.match(/^ {2}(Compil|Link|Build|Preprocess|Prepping|Generating|Creating)/gm) ?? []).length;
}

/**
 * What the glue's two make commands did, read from their output: whether QEMU's configure (and
 * meson) ran, how many ninja edges ran, and how many SeaBIOS build steps.
 */
export function glueActivity(qemuOutput, seabiosOutput) {
  return {
    qemuConfigureRan: /^The Meson build system/m.test(qemuOutput) || /^Install prefix/m.test(qemuOutput),
    ninjaEdges: ninjaSteps(qemuOutput),
    ninjaCompiles: ninjaCompiles(qemuOutput),
    ninjaNoWork: /ninja: no work to do/.test(qemuOutput),
    seabiosSteps: seabiosSteps(seabiosOutput)
  };
}

/** The size of each of xqbuild's stage logs, to read only what a run appended. */
export function xqLogSizes(tree) {
  const dir = path.join(tree, ".xqbuild", "logs");
  const out = {};
  try {
    for (const f of fs.readdirSync(dir)) out[f] = fs.statSync(path.join(dir, f)).size;
  } catch {
    // no logs yet
  }
  return out;
}

function appended(tree, name, sizes) {
  const file = path.join(tree, ".xqbuild", "logs", name);
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(sizes[name] ?? 0).toString("utf8");
  } catch {
    return "";
  }
}

/**
 * What an xqbuild run did: each "[component stage]" line's outcome (up to date / done / failed),
 * and from the stage logs it appended to, whether meson ran, how many ninja edges / SeaBIOS steps,
 * and the -jN QEMU's ninja ran with (what the job budget gave it, for the whole build).
 */
export function xqActivity(tree, output, sizesBefore) {
  const stages = {};
  for (const m of output.matchAll(/^\[([a-z-]+) ([a-z]+)\] (.+)$/gm)) {
    const key = `${m[1]} ${m[2]}`;
    const text = m[3].trim();
    if (text.startsWith("started")) {
      stages[key] ??= "started";
      continue;
    }
    const done = /^done in ([0-9.]+) s$/.exec(text);
    stages[key] = done ? `ran (${done[1]} s)` : text.slice(0, 100);
  }
  // The -jN QEMU's ninja ran with: the "[qemu-xen build] started (ninja -j2)" line (make -jN when
  // make ran it), else the build log's command line or its "# -jN: ..." line.
  const started = /^\[qemu-xen build\] started \((?:ninja|make) -j(\d+)\)$/m.exec(output);
  const build = appended(tree, "qemu-xen-build.log", sizesBefore);
  const logged = /^\$ cd \S+ && \S*ninja -j(\d+) /m.exec(build) ?? /^# -j(\d+): /m.exec(build);
  const ninjaJobs = started ? Number(started[1]) : logged ? Number(logged[1]) : undefined;
  const configure = appended(tree, "qemu-xen-configure.log", sizesBefore);
  const seabios = appended(tree, "seabios-build.log", sizesBefore);
  return {
    stages,
    qemuConfigureRan: /^The Meson build system/m.test(configure) || /^Install prefix/m.test(configure),
    ninjaEdges: ninjaSteps(build),
    ninjaCompiles: ninjaCompiles(build),
    ninjaNoWork: /ninja: no work to do/.test(build),
    ninjaJobs,
    seabiosSteps: seabiosSteps(seabios)
  };
}

/**
 * Flushes what earlier steps wrote or deleted (this disk is mounted with discard: the blocks of a
 * deleted tree are given back at the next journal commit), so that a sample pays for its own disk
 * work only, not for the tree removed before it.
 */
export function settleDisk() {
  execFileSync("sync");
}
