// Differential tests: xqbuild's reading of a real Xen 4.17 tree's configuration against GNU make run
// directly, as Xen's glue runs it (make -C tools -f Makefile ..., make -C tools/firmware ...). Each
// case is a .config text, an environment and a make command line; the reference is make itself
// (test/support/make-diff.ts, which shares no code with xqbuild), and every variable xqbuild knows
// that make defines must have the same value and the same origin (file and line, environment or
// command line) on both sides. Each case also states what make must give for the variables it is
// about, so that a case cannot pass with both sides empty or missing.
import { execFile } from "node:child_process";
import { existsSync, realpathSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, memoryOutput } from "../../src/cli/main.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { Origin, ResolvedConfig } from "../../src/config/types.js";
import { KNOWN_VARIABLES } from "../../src/config/variables.js";
import {
  baseEnv,
  copyTree,
  makeReference,
  removeFile,
  writeFresh,
  xenTrees,
  type RefVar,
} from "../support/make-diff.js";
import { cliPath } from "../support/cli-path.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const TOOLS_VARS = KNOWN_VARIABLES.filter((v) => v.context === "tools").map((v) => v.name);
const FW_VARS = KNOWN_VARIABLES.filter((v) => v.context === "firmware").map((v) => v.name);

/** What make gives for one variable: its exact value (or a pattern), and its origin as `xqbuild config` prints it. */
type Expectation = readonly [value: string | RegExp, origin: string];

interface Case {
  readonly name: string;
  /** The .config file's text; undefined: no .config. */
  readonly dotConfig?: string;
  /**
   * The .Config.mk file's text; undefined: no .Config.mk. Xen's own make reads it only through
   * make/xqbuild.mk (included at the end of tools/Makefile and tools/firmware/Makefile), so with a
   * .Config.mk the reference is make reading the tree's Makefile and then that fragment.
   */
  readonly configMk?: string;
  /** With a .Config.mk: the reference is make without the fragment (the tree reads .Config.mk itself). */
  readonly plainReference?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  readonly commandLine?: Readonly<Record<string, string>>;
  /** make's answer for the variables this case is about (checked against make itself). */
  readonly expect: Readonly<Record<string, Expectation>>;
}

interface Reference {
  readonly tools: Map<string, RefVar>;
  readonly firmware: Map<string, RefVar>;
}

/** make's origin in `xqbuild config`'s words: FILE:LINE (relative to the tree), environment, command line... */
function refOrigin(r: RefVar, root: string): string {
  switch (r.origin) {
    case "file":
    case "override":
      return `${path.relative(root, r.file ?? "?")}:${r.line ?? "?"}`;
    case "environment":
    case "command line":
    case "undefined":
      return r.origin;
    case "default":
      return "make default";
    default:
      return `make origin ${r.origin}`;
  }
}

function xqOrigin(o: Origin, root: string): string {
  return o.kind === "file" ? `${path.relative(root, o.file)}:${o.line}` : o.kind;
}

function refVar(ref: Reference, name: string): RefVar | undefined {
  return FW_VARS.includes(name) ? ref.firmware.get(name) : ref.tools.get(name);
}

const FRAGMENT = path.join(REPO, "make", "xqbuild.mk");

async function reference(tree: string, env: Record<string, string>, commandLine: Readonly<Record<string, string>> = {}, extraMakefiles: readonly string[] = []): Promise<Reference> {
  const [tools, firmware] = await Promise.all([
    makeReference({ tree, context: "tools", variables: TOOLS_VARS, env, commandLine, extraMakefiles }),
    makeReference({ tree, context: "firmware", variables: FW_VARS, env, commandLine, extraMakefiles }),
  ]);
  return { tools, firmware };
}

/** Checks the case's own statements about make's answer: the reference must define each variable. */
function checkExpectations(ref: Reference, expected: Readonly<Record<string, Expectation>>, root: string): void {
  for (const [name, [value, origin]] of Object.entries(expected)) {
    const r = refVar(ref, name);
    expect(r, `make printed ${name}`).toBeDefined();
    if (!r) continue;
    expect(r.origin, `make defines ${name}`).not.toBe("undefined");
    if (typeof value === "string") expect(r.value, `make's value of ${name}`).toBe(value);
    else expect(r.value, `make's value of ${name}`).toMatch(value);
    expect(refOrigin(r, root), `make's origin of ${name}`).toBe(origin);
  }
}

interface Mismatch {
  readonly name: string;
  readonly make: { value: string; origin: string };
  readonly xqbuild: { value: string; origin: string } | "missing";
}

/**
 * Every known variable make defines must have make's value and origin in xqbuild's answer; a variable
 * make leaves undefined must be undefined in xqbuild's too. `allowBuiltIn` names variables for which a
 * built-in stand-in value is expected instead (an unconfigured tree).
 */
function differences(
  ref: Reference,
  cfg: ResolvedConfig,
  root: string,
  allowBuiltIn: ReadonlySet<string> = new Set(),
  derived: ReadonlySet<string> = new Set(),
): { mismatches: Mismatch[]; compared: number } {
  const mismatches: Mismatch[] = [];
  let compared = 0;
  for (const name of [...TOOLS_VARS, ...FW_VARS]) {
    const r = refVar(ref, name);
    if (!r) throw new Error(`the reference did not print ${name}`);
    const x = cfg.vars.get(name);
    if (x && x.origin.kind === "built-in default" && allowBuiltIn.has(name)) continue;
    const make = { value: r.value, origin: refOrigin(r, root) };
    if (r.origin === "undefined") {
      if (x && (x.origin.kind !== "undefined" || x.value !== "")) mismatches.push({ name, make, xqbuild: { value: x.value, origin: xqOrigin(x.origin, root) } });
      continue;
    }
    compared++;
    if (!x) {
      mismatches.push({ name, make, xqbuild: "missing" });
      continue;
    }
    const mine = { value: x.value, origin: xqOrigin(x.origin, root) };
    if ((mine.value !== make.value && !derived.has(name)) || mine.origin !== make.origin) mismatches.push({ name, make, xqbuild: mine });
  }
  return { mismatches, compared };
}

async function setDotConfig(tree: string, text: string | Buffer | undefined): Promise<void> {
  const file = path.join(tree, ".config");
  if (text === undefined) await removeFile(file);
  else await writeFresh(file, text);
}

async function setConfigMk(tree: string, text: string | undefined): Promise<void> {
  const file = path.join(tree, ".Config.mk");
  if (text === undefined) await removeFile(file);
  else await writeFresh(file, text);
}

/** Runs one case: make's answer, the case's statements about it, then xqbuild's answer against make's. */
async function runCase(c: Case, tree: string, home: string, allowBuiltIn?: ReadonlySet<string>, derived?: ReadonlySet<string>): Promise<void> {
  await setDotConfig(tree, c.dotConfig);
  await setConfigMk(tree, c.configMk);
  const env = baseEnv(home, c.env);
  const ref = await reference(tree, env, c.commandLine, c.configMk !== undefined && !c.plainReference ? [FRAGMENT] : []);
  checkExpectations(ref, c.expect, tree);
  const cfg = await resolveConfig({ cwd: tree, commandLine: c.commandLine ?? {}, env });
  expect(cfg.xenRoot).toBe(tree);
  const { mismatches, compared } = differences(ref, cfg, tree, allowBuiltIn, derived);
  expect(mismatches, `xqbuild differs from make in case "${c.name}"`).toEqual([]);
  expect(compared).toBeGreaterThan(allowBuiltIn ? 10 : 35);
}

function spawnResult(cmd: string, args: readonly string[], opts: { cwd: string; env: Record<string, string> }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function runMain(argv: readonly string[], cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = memoryOutput();
  const code = await main(argv, { cwd, env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

const trees = xenTrees();
const haveTrees = trees !== undefined;
const XEN_CONFIGURED = trees?.configured ?? "";
const XEN_UNCONFIGURED = trees?.unconfigured ?? "";

// Line numbers in the real Xen 4.17.5 tree (Config.mk, config/Tools.mk, config/Paths.mk, config/StdGNU.mk,
// tools/Rules.mk, tools/firmware/Makefile) where the defaults are set.
const L = {
  seabiosFromTag: "Config.mk:208",
  tradUrlFromRemote: "Config.mk:211",
  tradLocFromConfigQemu: "Config.mk:214",
  tradRevFromTag: "Config.mk:217",
  qemuUrlHttp: "Config.mk:222",
  tradUrlHttp: "Config.mk:223",
  seabiosUrlHttp: "Config.mk:224",
  qemuUrlGit: "Config.mk:228",
  tradUrlGit: "Config.mk:229",
  seabiosUrlGit: "Config.mk:230",
  qemuRev: "Config.mk:234",
  seabiosRev: "Config.mk:237",
  tradRev: "Config.mk:242",
  tradLoc: "Config.mk:249",
  qemuLoc: "Config.mk:252",
  python: "config/Tools.mk:12",
  gitHttp: "config/Tools.mk:42",
  configSeabios: "config/Tools.mk:50",
  configQemuXen: "config/Tools.mk:53",
  configQemuuExtra: "config/Tools.mk:54",
  config9pfs: "config/Tools.mk:61",
  prefix: "config/Paths.mk:16",
  libexec: "config/Paths.mk:32",
  libexecBin: "config/Paths.mk:33",
  git: "config/StdGNU.mk:23",
  cc: "config/StdGNU.mk:8",
  debug: "tools/Rules.mk:28",
  seabiosCC: "tools/firmware/Makefile:18",
  seabiosLD: "tools/firmware/Makefile:19",
  seabiosExtra: "tools/firmware/Makefile:20",
} as const;

const GIT_URL = "git://xenbits.xen.org/qemu-xen.git";
const HTTP = "http://xenbits.xen.org/git-http/";

/** Cases run in one shared copy of the configured tree (none of them creates files besides .config). */
const CONFIGURED_CASES: readonly Case[] = [
  {
    name: "no .config: Config.mk's and config/Tools.mk's defaults",
    expect: {
      QEMU_UPSTREAM_URL: [GIT_URL, L.qemuUrlGit],
      QEMU_UPSTREAM_REVISION: ["qemu-xen-4.17.3", L.qemuRev],
      QEMU_UPSTREAM_LOC: [GIT_URL, L.qemuLoc],
      SEABIOS_UPSTREAM_REVISION: ["rel-1.16.0", L.seabiosRev],
      QEMU_TRADITIONAL_LOC: ["git://xenbits.xen.org/qemu-xen-traditional.git", L.tradLoc],
      GIT_HTTP: ["n", L.gitHttp],
      GIT: ["git", L.git],
      PYTHON: ["python3", L.python],
      prefix: ["/usr/local", L.prefix],
      debug: ["n", L.debug],
      SEABIOSCC: ["gcc", L.seabiosCC],
      SEABIOSLD: ["ld", L.seabiosLD],
      SEABIOS_EXTRAVERSION: ['"-Xen"', L.seabiosExtra],
    },
  },
  {
    name: "= in .config",
    dotConfig: "QEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git\n",
    expect: {
      QEMU_UPSTREAM_URL: ["https://mirror.example/qemu-xen.git", ".config:1"],
      // The default location follows the URL (Config.mk's $(call or,...)), where the default is set.
      QEMU_UPSTREAM_LOC: ["https://mirror.example/qemu-xen.git", L.qemuLoc],
    },
  },
  {
    name: ":= in .config",
    dotConfig: "# pinned\n\nQEMU_UPSTREAM_REVISION := stable-4.17\n",
    expect: { QEMU_UPSTREAM_REVISION: ["stable-4.17", ".config:3"] },
  },
  {
    name: "::= in .config",
    dotConfig: "SEABIOS_UPSTREAM_REVISION ::= rel-1.16.3\n",
    expect: { SEABIOS_UPSTREAM_REVISION: ["rel-1.16.3", ".config:1"] },
  },
  {
    name: "?= in .config with nothing in the environment",
    dotConfig: "QEMU_TRADITIONAL_REVISION ?= xen-4.17.2\n",
    expect: { QEMU_TRADITIONAL_REVISION: ["xen-4.17.2", ".config:1"] },
  },
  {
    name: "?= in .config loses to the environment",
    dotConfig: "QEMU_UPSTREAM_REVISION ?= from-file\n",
    env: { QEMU_UPSTREAM_REVISION: "from-env" },
    expect: { QEMU_UPSTREAM_REVISION: ["from-env", "environment"] },
  },
  {
    name: "= in .config wins over the environment; the environment wins over Config.mk's ?=",
    dotConfig: "QEMU_UPSTREAM_REVISION = from-file\n",
    env: { QEMU_UPSTREAM_REVISION: "from-env", SEABIOS_UPSTREAM_REVISION: "rel-env" },
    expect: {
      QEMU_UPSTREAM_REVISION: ["from-file", ".config:1"],
      SEABIOS_UPSTREAM_REVISION: ["rel-env", "environment"],
    },
  },
  {
    name: "the command line wins over .config, the environment and config/Tools.mk's :=",
    dotConfig: "QEMU_UPSTREAM_REVISION = from-file\nCONFIG_SEABIOS = y\n",
    env: { QEMU_UPSTREAM_REVISION: "from-env" },
    commandLine: { QEMU_UPSTREAM_REVISION: "from-cli", CONFIG_SEABIOS: "n", prefix: "/cli" },
    expect: {
      QEMU_UPSTREAM_REVISION: ["from-cli", "command line"],
      CONFIG_SEABIOS: ["n", "command line"],
      prefix: ["/cli", "command line"],
    },
  },
  {
    name: "+= in .config onto an environment value",
    dotConfig: "EXTRA_CFLAGS_QEMU_XEN += -g\n",
    env: { EXTRA_CFLAGS_QEMU_XEN: "-O1" },
    expect: { EXTRA_CFLAGS_QEMU_XEN: ["-O1 -g", ".config:1"] },
  },
  {
    name: "+= in .config onto a config/Tools.mk value (read before .config)",
    dotConfig: "CONFIG_QEMUU_EXTRA_ARGS += --enable-spice\nPYTHON += -u\n",
    expect: {
      CONFIG_QEMUU_EXTRA_ARGS: ["--enable-spice", ".config:1"],
      PYTHON: ["python3 -u", ".config:2"],
    },
  },
  {
    name: "+= in .config onto a Config.mk/StdGNU.mk/Rules.mk ?= default (set after .config, so the default is lost)",
    dotConfig: "GIT += -c protocol.version=2\nDESTDIR += /staging\ndebug += y\n",
    expect: {
      GIT: ["-c protocol.version=2", ".config:1"],
      DESTDIR: ["/staging", ".config:2"],
      debug: ["y", ".config:3"],
    },
  },
  {
    name: "comments, and # inside values",
    dotConfig: ["# a comment line", "EXTRA_CFLAGS_QEMU_XEN = -DX=\\#1 -O2 # trailing comment", "  # an indented comment", "EXTRA_CFLAGS_QEMU_TRADITIONAL = -g# no blank before it", ""].join("\n"),
    expect: {
      EXTRA_CFLAGS_QEMU_XEN: ["-DX=#1 -O2 ", ".config:2"],
      EXTRA_CFLAGS_QEMU_TRADITIONAL: ["-g", ".config:4"],
    },
  },
  {
    name: "trailing whitespace is kept by = and :=",
    dotConfig: "EXTRA_CFLAGS_QEMU_XEN = -O2   \nCONFIG_QEMUU_EXTRA_ARGS := --enable-spice\t\n",
    expect: {
      EXTRA_CFLAGS_QEMU_XEN: ["-O2   ", ".config:1"],
      CONFIG_QEMUU_EXTRA_ARGS: ["--enable-spice\t", ".config:2"],
    },
  },
  {
    name: "backslash-newline continuation lines",
    dotConfig: "EXTRA_CFLAGS_QEMU_XEN = -O2 \\\n    -g \\\n    -DFOO\nQEMU_UPSTREAM_REVISION = stable-4.17\n",
    expect: {
      EXTRA_CFLAGS_QEMU_XEN: ["-O2 -g -DFOO", ".config:1"],
      QEMU_UPSTREAM_REVISION: ["stable-4.17", ".config:4"],
    },
  },
  {
    name: "ifeq/else on a config/Tools.mk value",
    dotConfig: "ifeq ($(CONFIG_QEMU_XEN),y)\nQEMU_UPSTREAM_REVISION = when-yes\nelse\nQEMU_UPSTREAM_REVISION = when-no\nendif\n",
    expect: { QEMU_UPSTREAM_REVISION: ["when-yes", ".config:2"] },
  },
  {
    name: "ifeq/else: the command line decides the branch",
    dotConfig: "ifeq ($(CONFIG_QEMU_XEN),y)\nQEMU_UPSTREAM_REVISION = when-yes\nelse\nQEMU_UPSTREAM_REVISION = when-no\nendif\n",
    commandLine: { CONFIG_QEMU_XEN: "n" },
    expect: { QEMU_UPSTREAM_REVISION: ["when-no", ".config:4"], CONFIG_QEMU_XEN: ["n", "command line"] },
  },
  {
    name: "ifdef/ifndef/ifneq on environment and file values",
    dotConfig: [
      "ifdef MYMIRROR",
      "QEMU_UPSTREAM_URL = $(MYMIRROR)/qemu-xen.git",
      "endif",
      "ifndef SEABIOS_UPSTREAM_URL",
      "SEABIOS_UPSTREAM_URL = https://s.example/seabios.git",
      "endif",
      "ifneq ($(GIT_HTTP),y)",
      "QEMU_TRADITIONAL_URL = https://t.example/qemu-xen-traditional.git",
      "endif",
      "ifdef NOT_SET_ANYWHERE",
      "QEMU_UPSTREAM_REVISION = never",
      "endif",
      "",
    ].join("\n"),
    env: { MYMIRROR: "https://m.example" },
    expect: {
      QEMU_UPSTREAM_URL: ["https://m.example/qemu-xen.git", ".config:2"],
      SEABIOS_UPSTREAM_URL: ["https://s.example/seabios.git", ".config:5"],
      QEMU_TRADITIONAL_URL: ["https://t.example/qemu-xen-traditional.git", ".config:8"],
      QEMU_UPSTREAM_REVISION: ["qemu-xen-4.17.3", L.qemuRev],
    },
  },
  {
    name: "$(VAR) and ${VAR} forward references: recursive = sees a later definition, := does not",
    dotConfig: "QEMU_UPSTREAM_URL = ${MIRROR}/qemu-xen.git\nSEABIOS_UPSTREAM_URL := $(MIRROR)/seabios.git\nMIRROR = https://mirror.example\n",
    expect: {
      QEMU_UPSTREAM_URL: ["https://mirror.example/qemu-xen.git", ".config:1"],
      SEABIOS_UPSTREAM_URL: ["/seabios.git", ".config:2"],
    },
  },
  {
    name: "references to variables Config.mk defines later (recursive vs simple)",
    dotConfig: "QEMU_TRADITIONAL_URL = $(XEN_EXTFILES_URL)/qemu-trad.git\nSEABIOS_UPSTREAM_URL := $(XEN_EXTFILES_URL)/seabios.git\nQEMU_UPSTREAM_LOC = $(QEMU_UPSTREAM_URL)\n",
    expect: {
      QEMU_TRADITIONAL_URL: ["http://xenbits.xen.org/xen-extfiles/qemu-trad.git", ".config:1"],
      SEABIOS_UPSTREAM_URL: ["/seabios.git", ".config:2"],
      QEMU_UPSTREAM_LOC: [GIT_URL, ".config:3"],
      QEMU_TRADITIONAL_LOC: ["http://xenbits.xen.org/xen-extfiles/qemu-trad.git", L.tradLoc],
    },
  },
  {
    name: "$(shell ...) gives a value",
    dotConfig: "QEMU_UPSTREAM_REVISION := $(shell echo stable-4.17)\nEXTRA_CFLAGS_QEMU_XEN = $(shell printf '%s %s' -O2 -g)\n",
    expect: {
      QEMU_UPSTREAM_REVISION: ["stable-4.17", ".config:1"],
      EXTRA_CFLAGS_QEMU_XEN: ["-O2 -g", ".config:2"],
    },
  },
  {
    name: "override in .config wins over the command line",
    dotConfig: "\noverride QEMU_UPSTREAM_REVISION = pinned\n",
    commandLine: { QEMU_UPSTREAM_REVISION: "from-cli" },
    expect: { QEMU_UPSTREAM_REVISION: ["pinned", ".config:2"] },
  },
  {
    name: "export in .config",
    dotConfig: "export GIT = /usr/bin/git\nexport QEMU_UPSTREAM_REVISION := stable-4.17\n",
    expect: {
      GIT: ["/usr/bin/git", ".config:1"],
      QEMU_UPSTREAM_REVISION: ["stable-4.17", ".config:2"],
    },
  },
  {
    name: "define ... endef (one and several lines)",
    dotConfig: "define EXTRA_CFLAGS_QEMU_XEN\n-O2\nendef\n\ndefine CONFIG_QEMUU_EXTRA_ARGS =\n--enable-spice\n--enable-usb-redir\nendef\n",
    expect: {
      EXTRA_CFLAGS_QEMU_XEN: ["-O2", ".config:1"],
      CONFIG_QEMUU_EXTRA_ARGS: ["--enable-spice\n--enable-usb-redir", ".config:5"],
    },
  },
  {
    name: "legacy SEABIOS_UPSTREAM_TAG alone",
    dotConfig: "SEABIOS_UPSTREAM_TAG = rel-1.15.0\n",
    expect: {
      SEABIOS_UPSTREAM_TAG: ["rel-1.15.0", ".config:1"],
      SEABIOS_UPSTREAM_REVISION: ["rel-1.15.0", L.seabiosFromTag],
    },
  },
  {
    name: "legacy QEMU_REMOTE, QEMU_TAG and CONFIG_QEMU alone",
    dotConfig: "QEMU_REMOTE = https://old.example/trad.git\nQEMU_TAG = xen-4.16.0\nCONFIG_QEMU = /srv/old-trad\n",
    expect: {
      QEMU_TRADITIONAL_URL: ["https://old.example/trad.git", L.tradUrlFromRemote],
      QEMU_TRADITIONAL_REVISION: ["xen-4.16.0", L.tradRevFromTag],
      QEMU_TRADITIONAL_LOC: ["/srv/old-trad", L.tradLocFromConfigQemu],
      QEMU_REMOTE: ["https://old.example/trad.git", ".config:1"],
      QEMU_TAG: ["xen-4.16.0", ".config:2"],
      CONFIG_QEMU: ["/srv/old-trad", ".config:3"],
    },
  },
  {
    name: "legacy aliases with the new names also set: the new names win",
    dotConfig: [
      "SEABIOS_UPSTREAM_TAG = rel-1.15.0",
      "SEABIOS_UPSTREAM_REVISION = rel-1.16.3",
      "QEMU_REMOTE = https://old.example/trad.git",
      "QEMU_TRADITIONAL_URL = https://new.example/trad.git",
      "QEMU_TAG = xen-4.16.0",
      "QEMU_TRADITIONAL_REVISION = xen-4.17.2",
      "CONFIG_QEMU = /srv/old-trad",
      "QEMU_TRADITIONAL_LOC = /srv/new-trad",
      "",
    ].join("\n"),
    expect: {
      SEABIOS_UPSTREAM_REVISION: ["rel-1.16.3", ".config:2"],
      QEMU_TRADITIONAL_URL: ["https://new.example/trad.git", ".config:4"],
      QEMU_TRADITIONAL_REVISION: ["xen-4.17.2", ".config:6"],
      QEMU_TRADITIONAL_LOC: ["/srv/new-trad", ".config:8"],
    },
  },
  {
    name: "legacy SEABIOS_UPSTREAM_TAG and QEMU_TAG from the environment",
    env: { SEABIOS_UPSTREAM_TAG: "rel-1.15.0", QEMU_TAG: "xen-4.16.0" },
    expect: {
      SEABIOS_UPSTREAM_TAG: ["rel-1.15.0", "environment"],
      SEABIOS_UPSTREAM_REVISION: ["rel-1.15.0", L.seabiosFromTag],
      QEMU_TRADITIONAL_REVISION: ["xen-4.16.0", L.tradRevFromTag],
    },
  },
  {
    name: "GIT_HTTP = y in .config switches every default URL to http",
    dotConfig: "GIT_HTTP = y\n",
    expect: {
      GIT_HTTP: ["y", ".config:1"],
      QEMU_UPSTREAM_URL: [`${HTTP}qemu-xen.git`, L.qemuUrlHttp],
      QEMU_TRADITIONAL_URL: [`${HTTP}qemu-xen-traditional.git`, L.tradUrlHttp],
      SEABIOS_UPSTREAM_URL: [`${HTTP}seabios.git`, L.seabiosUrlHttp],
      QEMU_UPSTREAM_LOC: [`${HTTP}qemu-xen.git`, L.qemuLoc],
    },
  },
  {
    name: "GIT_HTTP ?= y in .config does nothing: config/Tools.mk's ?= n was read first",
    dotConfig: "GIT_HTTP ?= y\n",
    expect: {
      GIT_HTTP: ["n", L.gitHttp],
      QEMU_UPSTREAM_URL: [GIT_URL, L.qemuUrlGit],
    },
  },
  {
    name: "GIT_HTTP=y from the environment",
    env: { GIT_HTTP: "y" },
    expect: {
      GIT_HTTP: ["y", "environment"],
      QEMU_UPSTREAM_URL: [`${HTTP}qemu-xen.git`, L.qemuUrlHttp],
      SEABIOS_UPSTREAM_URL: [`${HTTP}seabios.git`, L.seabiosUrlHttp],
    },
  },
  {
    name: "GIT_HTTP=y on the command line wins over GIT_HTTP = n in .config",
    dotConfig: "GIT_HTTP = n\n",
    commandLine: { GIT_HTTP: "y" },
    expect: {
      GIT_HTTP: ["y", "command line"],
      QEMU_TRADITIONAL_URL: [`${HTTP}qemu-xen-traditional.git`, L.tradUrlHttp],
    },
  },
  {
    name: "config/Tools.mk and config/Paths.mk variables overridden in .config (read after them)",
    dotConfig: [
      "prefix = /opt/xen",
      "CONFIG_9PFS = y",
      "PYTHON = /usr/bin/python3.11",
      "LIBEXEC_BIN ?= /opt/ignored",
      "CONFIG_SEABIOS ?= n",
      "XENFIRMWAREDIR := $(prefix)/firmware",
      "",
    ].join("\n"),
    expect: {
      prefix: ["/opt/xen", ".config:1"],
      CONFIG_9PFS: ["y", ".config:2"],
      PYTHON: ["/usr/bin/python3.11", ".config:3"],
      LIBEXEC_BIN: ["/usr/local/lib/xen/bin", L.libexecBin],
      CONFIG_SEABIOS: ["y", L.configSeabios],
      XENFIRMWAREDIR: ["/opt/xen/firmware", ".config:6"],
      // config/Paths.mk's := values were computed before .config changed prefix.
      LIBEXEC: ["/usr/local/lib/xen", L.libexec],
    },
  },
  {
    name: "the environment does not override config/Tools.mk's := values",
    env: { PYTHON: "/env/python", CONFIG_SEABIOS: "n", prefix: "/env", CONFIG_9PFS: "y" },
    expect: {
      PYTHON: ["python3", L.python],
      CONFIG_SEABIOS: ["y", L.configSeabios],
      prefix: ["/usr/local", L.prefix],
      CONFIG_9PFS: ["", L.config9pfs],
    },
  },
  {
    name: "SeaBIOS variables of tools/firmware/Makefile from .config and the environment",
    dotConfig: "SEABIOSCC = clang\nSEABIOS_EXTRAVERSION = -custom\n",
    env: { SEABIOSLD: "ld.lld" },
    expect: {
      SEABIOSCC: ["clang", ".config:1"],
      SEABIOSLD: ["ld.lld", "environment"],
      SEABIOS_EXTRAVERSION: ["-custom", ".config:2"],
    },
  },
  {
    name: "CC = clang in .config is lost (config/StdGNU.mk sets CC after .config), so SEABIOSCC stays gcc",
    dotConfig: "CC = clang\n",
    commandLine: { SEABIOSLD: "ld.bfd", SEABIOS_EXTRAVERSION: "-cli" },
    expect: {
      CC: ["gcc", L.cc],
      SEABIOSCC: ["gcc", L.seabiosCC],
      SEABIOSLD: ["ld.bfd", "command line"],
      SEABIOS_EXTRAVERSION: ["-cli", "command line"],
    },
  },
  {
    name: "CC=clang on the command line feeds SEABIOSCC's default",
    commandLine: { CC: "clang" },
    expect: { CC: ["clang", "command line"], SEABIOSCC: ["clang", L.seabiosCC] },
  },
  {
    name: "undefine in .config",
    dotConfig: "undefine GIT_HTTP\n",
    expect: { QEMU_UPSTREAM_URL: [GIT_URL, L.qemuUrlGit] },
  },
  {
    name: "!= (shell assignment) in .config",
    dotConfig: "QEMU_UPSTREAM_REVISION != echo stable-4.17\n",
    expect: { QEMU_UPSTREAM_REVISION: ["stable-4.17", ".config:1"] },
  },
  {
    name: "QEMU_UPSTREAM_LOC := $(QEMU_UPSTREAM_URL) in .config is empty: the URL default comes later",
    dotConfig: "QEMU_UPSTREAM_LOC := $(QEMU_UPSTREAM_URL)\n",
    expect: { QEMU_UPSTREAM_LOC: ["", ".config:1"], QEMU_UPSTREAM_URL: [GIT_URL, L.qemuUrlGit] },
  },
  {
    name: "environment values are expanded by make like recursive variables",
    env: { EXTRA_CFLAGS_QEMU_XEN: "-DPREFIX=$(prefix)", QEMU_UPSTREAM_URL: "$(XEN_EXTFILES_URL)/qemu-xen.git" },
    expect: {
      EXTRA_CFLAGS_QEMU_XEN: ["-DPREFIX=/usr/local", "environment"],
      QEMU_UPSTREAM_URL: ["http://xenbits.xen.org/xen-extfiles/qemu-xen.git", "environment"],
    },
  },
  {
    name: "command-line values with blanks, quotes and $$",
    commandLine: { EXTRA_CFLAGS_QEMU_XEN: "-DA='x y' -DB=$$HOME", CONFIG_QEMUU_EXTRA_ARGS: "--enable-spice --enable-libusb" },
    expect: {
      EXTRA_CFLAGS_QEMU_XEN: ["-DA='x y' -DB=$HOME", "command line"],
      CONFIG_QEMUU_EXTRA_ARGS: ["--enable-spice --enable-libusb", "command line"],
    },
  },
  {
    name: "XEN_TOOLS_RPATH = y and debug = y in .config change derived tools/Makefile values",
    dotConfig: "XEN_TOOLS_RPATH = y\ndebug = y\n",
    expect: {
      XEN_TOOLS_RPATH: ["y", ".config:1"],
      debug: ["y", ".config:2"],
      QEMU_UPSTREAM_RPATH: ["-Wl,-rpath,/usr/local/lib/xen/lib:/usr/local/lib", "tools/Makefile:93"],
    },
  },
];


/**
 * .Config.mk cases: the reference is Xen's make with make/xqbuild.mk, which reads .Config.mk after
 * everything else, as xqbuild does (see DOT_CONFIG_MK in src/config/resolve.ts).
 */
const CONFIG_MK_CASES: readonly Case[] = [
  {
    name: ".Config.mk: = sets the URL, and the default location follows it",
    configMk: "# the wiki's override\nQEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git\n",
    expect: {
      QEMU_UPSTREAM_URL: ["https://mirror.example/qemu-xen.git", ".Config.mk:2"],
      QEMU_UPSTREAM_LOC: ["https://mirror.example/qemu-xen.git", L.qemuLoc],
    },
  },
  {
    name: ".Config.mk: := and ::=",
    configMk: "QEMU_UPSTREAM_REVISION := stable-4.17\nSEABIOS_UPSTREAM_REVISION ::= rel-1.16.3\n",
    expect: {
      QEMU_UPSTREAM_REVISION: ["stable-4.17", ".Config.mk:1"],
      SEABIOS_UPSTREAM_REVISION: ["rel-1.16.3", ".Config.mk:2"],
    },
  },
  {
    name: ".Config.mk: += appends to the defaults (read after them, unlike .config)",
    configMk: "GIT += -c protocol.version=2\nPYTHON += -u\n",
    expect: {
      GIT: ["git -c protocol.version=2", ".Config.mk:1"],
      PYTHON: ["python3 -u", ".Config.mk:2"],
    },
  },
  {
    name: ".Config.mk: ?= is too late for a Config.mk default, and sets a variable nothing set",
    configMk: "QEMU_UPSTREAM_REVISION ?= ignored\nEXTRA_CFLAGS_QEMU_XEN ?= -g\n",
    expect: {
      QEMU_UPSTREAM_REVISION: ["qemu-xen-4.17.3", L.qemuRev],
      EXTRA_CFLAGS_QEMU_XEN: ["-g", ".Config.mk:2"],
    },
  },
  {
    name: ".Config.mk: override wins over the command line; a plain = does not",
    configMk: "override QEMU_UPSTREAM_REVISION = pinned\nSEABIOS_UPSTREAM_REVISION = rel-file\n",
    commandLine: { QEMU_UPSTREAM_REVISION: "from-cli", SEABIOS_UPSTREAM_REVISION: "rel-cli" },
    expect: {
      QEMU_UPSTREAM_REVISION: ["pinned", ".Config.mk:1"],
      SEABIOS_UPSTREAM_REVISION: ["rel-cli", "command line"],
    },
  },
  {
    name: ".Config.mk and .config both set variables: .Config.mk is read last",
    dotConfig: "QEMU_UPSTREAM_URL = https://dotconfig.example/qemu-xen.git\nQEMU_UPSTREAM_REVISION = from-dotconfig\nCONFIG_QEMUU_EXTRA_ARGS = --enable-vnc\n",
    configMk: "QEMU_UPSTREAM_URL = https://configmk.example/qemu-xen.git\nCONFIG_QEMUU_EXTRA_ARGS += --enable-spice\n",
    expect: {
      QEMU_UPSTREAM_URL: ["https://configmk.example/qemu-xen.git", ".Config.mk:1"],
      QEMU_UPSTREAM_REVISION: ["from-dotconfig", ".config:2"],
      CONFIG_QEMUU_EXTRA_ARGS: ["--enable-vnc --enable-spice", ".Config.mk:2"],
    },
  },
  {
    name: ".Config.mk against the environment: = wins over it, ?= loses to it",
    configMk: "QEMU_UPSTREAM_REVISION = from-file\nSEABIOS_UPSTREAM_REVISION ?= rel-file\n",
    env: { QEMU_UPSTREAM_REVISION: "from-env", SEABIOS_UPSTREAM_REVISION: "rel-env" },
    expect: {
      QEMU_UPSTREAM_REVISION: ["from-file", ".Config.mk:1"],
      SEABIOS_UPSTREAM_REVISION: ["rel-env", "environment"],
    },
  },
  {
    name: ".Config.mk sets a tools/firmware variable and reads .config's values",
    dotConfig: "MIRROR = https://m.example\n",
    configMk: "SEABIOS_UPSTREAM_URL = $(MIRROR)/seabios.git\nSEABIOSCC := clang\n",
    expect: {
      SEABIOS_UPSTREAM_URL: ["https://m.example/seabios.git", ".Config.mk:1"],
      SEABIOSCC: ["clang", ".Config.mk:2"],
    },
  },
  {
    name: ".Config.mk included from .config is read there, once, by Xen's own make as by xqbuild",
    dotConfig: "-include $(XEN_ROOT)/.Config.mk\n",
    configMk: "PYTHON += -u\nQEMU_UPSTREAM_REVISION ?= from-configmk\n",
    plainReference: true,
    expect: {
      PYTHON: ["python3 -u", ".Config.mk:1"],
      QEMU_UPSTREAM_REVISION: ["from-configmk", ".Config.mk:2"],
    },
  },
];

describe.skipIf(!haveTrees)("xqbuild against GNU make: a configured Xen 4.17 tree", () => {
  let work: string;
  let tree: string;
  beforeAll(async () => {
    work = realpathSync(await mkdtemp(path.join(tmpdir(), "xqbuild-mkdiff-")));
    tree = await copyTree(XEN_CONFIGURED, path.join(work, "xen"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const c of [...CONFIGURED_CASES, ...CONFIG_MK_CASES]) {
    it(c.name, async () => {
      await runCase(c, tree, work);
    });
  }

  it("a makefile included from .config: origins name that file", async () => {
    const site = path.join(tree, "site.mk");
    await writeFresh(site, "# site settings\nQEMU_UPSTREAM_URL = https://site.example/qemu-xen.git\n");
    try {
      await runCase(
        {
          name: "include",
          dotConfig: "include $(XEN_ROOT)/site.mk\nQEMU_UPSTREAM_REVISION = stable-4.17\n",
          expect: {
            QEMU_UPSTREAM_URL: ["https://site.example/qemu-xen.git", "site.mk:2"],
            QEMU_UPSTREAM_REVISION: ["stable-4.17", ".config:2"],
          },
        },
        tree,
        work,
      );
    } finally {
      await removeFile(site);
    }
  });

  it(".Config.mk with make/xqbuild.mk at the end of tools/Makefile and tools/firmware/Makefile: read once, as Xen's make reads it, and no warning", async () => {
    const makefiles = [path.join(tree, "tools", "Makefile"), path.join(tree, "tools", "firmware", "Makefile")];
    const originals = await Promise.all(makefiles.map((f) => readFile(f, "utf8")));
    try {
      for (const [i, f] of makefiles.entries()) await writeFresh(f, `${originals[i] ?? ""}\ninclude ${FRAGMENT}\n`);
      await runCase(
        {
          name: "fragment in the tree",
          configMk: "PYTHON += -u\nSEABIOSCC = clang\n",
          plainReference: true,
          expect: { PYTHON: ["python3 -u", ".Config.mk:1"], SEABIOSCC: ["clang", ".Config.mk:2"] },
        },
        tree,
        work,
      );
      const cfg = await resolveConfig({ cwd: tree, commandLine: {}, env: baseEnv(work) });
      expect(cfg.warnings.filter((w) => w.includes(".Config.mk"))).toEqual([]);
    } finally {
      for (const [i, f] of makefiles.entries()) await writeFresh(f, originals[i] ?? "");
      await setConfigMk(tree, undefined);
    }
  });

  it(".Config.mk that Xen's own make does not read: one warning naming what it sets and how to make both agree; a late ?= is named", async () => {
    await setDotConfig(tree, undefined);
    await setConfigMk(tree, "QEMU_UPSTREAM_URL = https://m.example/qemu-xen.git\nQEMU_UPSTREAM_REVISION ?= stable-4.17\nEXTRA_CFLAGS_QEMU_XEN ?= -g\n");
    try {
      const cfg = await resolveConfig({ cwd: tree, commandLine: {}, env: baseEnv(work) });
      const about = cfg.warnings.filter((w) => w.includes(".Config.mk"));
      expect(about).toHaveLength(2);
      expect(about[0]).toMatch(/^\.Config\.mk is read by xqbuild \(it sets QEMU_UPSTREAM_URL, EXTRA_CFLAGS_QEMU_XEN\), but Xen's own make does not read it/);
      expect(about[0]).toMatch(/make\/xqbuild\.mk at the end of tools\/Makefile and tools\/firmware\/Makefile/);
      expect(about[1]).toBe(
        "QEMU_UPSTREAM_REVISION ?= at .Config.mk:2 has no effect: Config.mk:234 set it first, and .Config.mk is read after Config.mk, .config and config/Tools.mk. Write QEMU_UPSTREAM_REVISION = ... to override it.",
      );
      // Once per command: `xqbuild config` prints it one time.
      const r = await runMain(["config", "-C", tree], tree, baseEnv(work));
      expect(r.code).toBe(0);
      expect(r.stderr.split("\n").filter((l) => l.includes("Xen's own make does not read it"))).toHaveLength(1);
      expect(r.stdout).toMatch(/^QEMU_UPSTREAM_URL +(= )?https:\/\/m\.example\/qemu-xen\.git +\[\.Config\.mk:1\]$/m);
    } finally {
      await setConfigMk(tree, undefined);
    }
  });

  it(".Config.mk with a DOS line ending is refused, naming the file and the line", async () => {
    await setConfigMk(tree, "# ok\nQEMU_UPSTREAM_URL = https://m.example/q.git\r\n");
    try {
      await expect(resolveConfig({ cwd: tree, commandLine: {}, env: baseEnv(work) })).rejects.toThrow(/^\.Config\.mk:2 ends in a carriage return/);
    } finally {
      await setConfigMk(tree, undefined);
    }
  });

  it("a .Config.mk make cannot parse: the error names .Config.mk and the line", async () => {
    await setConfigMk(tree, "QEMU_UPSTREAM_URL = ok\nifeq (a,b\n");
    try {
      await expect(resolveConfig({ cwd: tree, commandLine: {}, env: baseEnv(work) })).rejects.toThrow(/^\.Config\.mk:2: make cannot read/);
    } finally {
      await setConfigMk(tree, undefined);
    }
  });

  it("values with a trailing comment or trailing blanks, which the glue accepts: same value as make, and no refusal", async () => {
    // The glue uses these unquoted in shell commands (git-checkout.sh $(URL) $(REV) dir), so the blanks make keeps are harmless.
    await runCase(
      {
        name: "trailing blanks on source variables",
        dotConfig: "QEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git # my mirror\nQEMU_UPSTREAM_REVISION = stable-4.17  \n",
        expect: {
          QEMU_UPSTREAM_URL: ["https://mirror.example/qemu-xen.git ", ".config:1"],
          QEMU_UPSTREAM_REVISION: ["stable-4.17  ", ".config:2"],
        },
      },
      tree,
      work,
    );
  });
});

describe.skipIf(!haveTrees)("xqbuild against GNU make: the in-tree tools/qemu-xen directory", () => {
  let work: string;
  let tree: string;
  beforeAll(async () => {
    work = realpathSync(await mkdtemp(path.join(tmpdir(), "xqbuild-mkdiff-")));
    tree = await copyTree(XEN_CONFIGURED, path.join(work, "xen"));
    await mkdir(path.join(tree, "tools", "qemu-xen"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("QEMU_UPSTREAM_LOC is the in-tree directory when it exists", async () => {
    await runCase({ name: "in-tree", expect: { QEMU_UPSTREAM_LOC: [`${tree}/tools/../tools/qemu-xen`, L.qemuLoc], QEMU_UPSTREAM_URL: [GIT_URL, L.qemuUrlGit] } }, tree, work);
  });

  it("the in-tree directory wins over a QEMU_UPSTREAM_URL set in .config", async () => {
    await runCase(
      {
        name: "in-tree with URL",
        dotConfig: "QEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git\n",
        expect: {
          QEMU_UPSTREAM_LOC: [`${tree}/tools/../tools/qemu-xen`, L.qemuLoc],
          QEMU_UPSTREAM_URL: ["https://mirror.example/qemu-xen.git", ".config:1"],
        },
      },
      tree,
      work,
    );
  });

  it("QEMU_UPSTREAM_LOC set in .config wins over the in-tree directory", async () => {
    await runCase(
      { name: "in-tree with LOC", dotConfig: "QEMU_UPSTREAM_LOC = $(QEMU_UPSTREAM_URL)\n", expect: { QEMU_UPSTREAM_LOC: [GIT_URL, ".config:1"] } },
      tree,
      work,
    );
  });

  it("QEMU_UPSTREAM_INTREE from the environment moves the in-tree directory away", async () => {
    await runCase(
      {
        name: "intree elsewhere",
        env: { QEMU_UPSTREAM_INTREE: "/nonexistent/qemu-xen" },
        expect: { QEMU_UPSTREAM_INTREE: ["/nonexistent/qemu-xen", "environment"], QEMU_UPSTREAM_LOC: [GIT_URL, L.qemuLoc] },
      },
      tree,
      work,
    );
  });
});

describe.skipIf(!haveTrees)("xqbuild against GNU make: an unconfigured tree (no config/Tools.mk)", () => {
  let work: string;
  let tree: string;
  /** Variables ./configure writes (config/Tools.mk and config/Paths.mk in the configured tree): xqbuild's stand-in may give them. */
  let configureVars: Set<string>;
  /** Set in tools/Makefile from the stand-in's LIBEXEC_LIB: same file and line as make, but a value made with the stand-in. */
  const derivedFromStandIn = new Set(["QEMU_UPSTREAM_RPATH"]);
  let configured: string;
  beforeAll(async () => {
    work = realpathSync(await mkdtemp(path.join(tmpdir(), "xqbuild-mkdiff-")));
    tree = await copyTree(XEN_UNCONFIGURED, path.join(work, "xen"));
    configured = await copyTree(XEN_CONFIGURED, path.join(work, "configured"));
    const ref = await reference(configured, baseEnv(work));
    configureVars = new Set<string>();
    for (const m of [ref.tools, ref.firmware]) {
      for (const [name, r] of m) {
        const rel = r.file ? path.relative(configured, r.file) : "";
        if (rel === "config/Tools.mk" || rel === "config/Paths.mk") configureVars.add(name);
      }
    }
    expect([...configureVars]).toEqual(expect.arrayContaining(["PYTHON", "prefix", "GIT_HTTP", "CONFIG_SEABIOS", "LIBEXEC_LIB"]));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("the tree really is unconfigured", () => {
    expect(existsSync(path.join(tree, "config", "Tools.mk"))).toBe(false);
    expect(existsSync(path.join(tree, "config", "Paths.mk"))).toBe(false);
  });

  const cases: readonly Case[] = [
    {
      name: "no .config",
      expect: {
        QEMU_UPSTREAM_URL: [GIT_URL, L.qemuUrlGit],
        QEMU_UPSTREAM_LOC: [GIT_URL, L.qemuLoc],
        SEABIOS_UPSTREAM_REVISION: ["rel-1.16.0", L.seabiosRev],
        PYTHON: ["python", "Config.mk:80"],
      },
    },
    {
      name: "= in .config, Paths.mk-style variables too",
      dotConfig: "QEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git\nprefix = /opt/xen\nSEABIOS_UPSTREAM_TAG = rel-1.15.0\n",
      expect: {
        QEMU_UPSTREAM_URL: ["https://mirror.example/qemu-xen.git", ".config:1"],
        prefix: ["/opt/xen", ".config:2"],
        SEABIOS_UPSTREAM_REVISION: ["rel-1.15.0", L.seabiosFromTag],
      },
    },
    {
      name: "GIT_HTTP=y from the environment",
      env: { GIT_HTTP: "y" },
      expect: { GIT_HTTP: ["y", "environment"], QEMU_UPSTREAM_URL: [`${HTTP}qemu-xen.git`, L.qemuUrlHttp] },
    },
    {
      name: "GIT_HTTP = y in .config and a command-line revision",
      dotConfig: "GIT_HTTP = y\n",
      commandLine: { QEMU_UPSTREAM_REVISION: "stable-4.17" },
      expect: {
        GIT_HTTP: ["y", ".config:1"],
        SEABIOS_UPSTREAM_URL: [`${HTTP}seabios.git`, L.seabiosUrlHttp],
        QEMU_UPSTREAM_REVISION: ["stable-4.17", "command line"],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await runCase(c, tree, work, configureVars, derivedFromStandIn);
    });
  }

  it("GIT_HTTP ?= y in .config: xqbuild answers as the configured tree does (its stand-in plays config/Tools.mk's GIT_HTTP ?= n)", async () => {
    // Plain make on the unconfigured tree takes GIT_HTTP ?= y (nothing set it before .config); once
    // ./configure has written config/Tools.mk it does not. xqbuild's stand-in answers as after ./configure.
    const dotConfig = "GIT_HTTP ?= y\n";
    const env = baseEnv(work);
    await setDotConfig(tree, dotConfig);
    await setDotConfig(configured, dotConfig);
    try {
      const plain = await reference(tree, env);
      checkExpectations(plain, { GIT_HTTP: ["y", ".config:1"], QEMU_UPSTREAM_URL: [`${HTTP}qemu-xen.git`, L.qemuUrlHttp] }, tree);
      const after = await reference(configured, env);
      checkExpectations(after, { GIT_HTTP: ["n", L.gitHttp], QEMU_UPSTREAM_URL: [GIT_URL, L.qemuUrlGit] }, configured);
      const cfg = await resolveConfig({ cwd: tree, commandLine: {}, env });
      const pick = (names: readonly string[], get: (n: string) => string): Record<string, string> => Object.fromEntries(names.map((n) => [n, get(n)]));
      const names = ["GIT_HTTP", "QEMU_UPSTREAM_URL", "QEMU_TRADITIONAL_URL", "SEABIOS_UPSTREAM_URL", "QEMU_UPSTREAM_LOC"];
      expect(pick(names, (n) => cfg.vars.get(n)?.value ?? "<missing>")).toEqual(pick(names, (n) => refVar(after, n)?.value ?? "<missing>"));
      expect(cfg.vars.get("GIT_HTTP")?.origin.kind).toBe("built-in default");
      expect(xqOrigin(cfg.vars.get("QEMU_UPSTREAM_URL")?.origin ?? { kind: "undefined" }, tree)).toBe(L.qemuUrlGit);
    } finally {
      await setDotConfig(configured, undefined);
    }
  });

  it("only variables ./configure writes are reported as built-in defaults", async () => {
    await setDotConfig(tree, undefined);
    const cfg = await resolveConfig({ cwd: tree, commandLine: {}, env: baseEnv(work) });
    expect(cfg.unconfigured).toBe(true);
    const builtIn = [...cfg.vars].filter(([, v]) => v.origin.kind === "built-in default").map(([k]) => k);
    expect(builtIn).toContain("CONFIG_SEABIOS");
    expect(builtIn.filter((k) => !configureVars.has(k))).toEqual([]);
  });
});

describe.skipIf(!haveTrees)("xqbuild config (the CLI) against GNU make", () => {
  let work: string;
  let tree: string;
  let cli: string;
  beforeAll(async () => {
    work = realpathSync(await mkdtemp(path.join(tmpdir(), "xqbuild-mkdiff-")));
    tree = await copyTree(XEN_CONFIGURED, path.join(work, "xen"));
    cli = cliPath();
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** `xqbuild config --json --all` output against make's answer for every variable make defines. */
  function compareJson(stdout: string, ref: Reference): void {
    const json = JSON.parse(stdout) as Record<string, { value: string; origin: string }>;
    const bad: unknown[] = [];
    let compared = 0;
    for (const name of [...TOOLS_VARS, ...FW_VARS]) {
      const r = refVar(ref, name);
      if (!r) throw new Error(`the reference did not print ${name}`);
      if (r.origin === "undefined") continue;
      compared++;
      const want = { value: r.value, origin: refOrigin(r, tree) };
      const got = json[name] ? { value: json[name].value, origin: json[name].origin } : "missing";
      if (JSON.stringify(got) !== JSON.stringify(want)) bad.push({ name, make: want, xqbuild: got });
    }
    expect(bad).toEqual([]);
    expect(compared).toBeGreaterThan(35);
  }

  it("built CLI: config --json --all -C TREE VAR=value matches make, with .config:LINE origins", async () => {
    await setDotConfig(tree, "# mirror\nQEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git\nQEMU_UPSTREAM_REVISION = from-file\nSEABIOS_UPSTREAM_TAG = rel-1.15.0\n");
    const env = baseEnv(work, { GIT_HTTP: "y" });
    const commandLine = { QEMU_UPSTREAM_REVISION: "stable-4.17", SEABIOSCC: "clang" };
    const ref = await reference(tree, env, commandLine);
    checkExpectations(
      ref,
      {
        QEMU_UPSTREAM_URL: ["https://mirror.example/qemu-xen.git", ".config:2"],
        QEMU_UPSTREAM_REVISION: ["stable-4.17", "command line"],
        SEABIOS_UPSTREAM_REVISION: ["rel-1.15.0", L.seabiosFromTag],
        SEABIOS_UPSTREAM_URL: [`${HTTP}seabios.git`, L.seabiosUrlHttp],
        GIT_HTTP: ["y", "environment"],
        SEABIOSCC: ["clang", "command line"],
      },
      tree,
    );
    const r = await spawnResult(process.execPath, [cli, "config", "--json", "--all", "-C", tree, "QEMU_UPSTREAM_REVISION=stable-4.17", "SEABIOSCC=clang"], { cwd: work, env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    compareJson(r.stdout, ref);
    const json = JSON.parse(r.stdout) as Record<string, { origin: string }>;
    expect(json.QEMU_UPSTREAM_URL?.origin).toBe(".config:2");
  });

  it("built CLI: a variable on line N of .config is shown with origin .config:N", async () => {
    await setDotConfig(tree, "\n\n# three blank or comment lines\n\nQEMU_TRADITIONAL_REVISION = xen-4.17.2\n");
    const r = await spawnResult(process.execPath, [cli, "config", "--json", "QEMU_TRADITIONAL_REVISION"], { cwd: tree, env: baseEnv(work) });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ QEMU_TRADITIONAL_REVISION: { value: "xen-4.17.2", origin: ".config:5" } });
  });

  it("main(): config --json --all with override, define and += matches make", async () => {
    await setDotConfig(tree, "override SEABIOS_UPSTREAM_REVISION = rel-1.16.3\ndefine EXTRA_CFLAGS_QEMU_XEN\n-O2\nendef\nEXTRA_CFLAGS_QEMU_TRADITIONAL += -g\n");
    const env = baseEnv(work, { EXTRA_CFLAGS_QEMU_TRADITIONAL: "-O1" });
    const ref = await reference(tree, env, { SEABIOS_UPSTREAM_REVISION: "from-cli" });
    checkExpectations(
      ref,
      {
        SEABIOS_UPSTREAM_REVISION: ["rel-1.16.3", ".config:1"],
        EXTRA_CFLAGS_QEMU_XEN: ["-O2", ".config:2"],
        EXTRA_CFLAGS_QEMU_TRADITIONAL: ["-O1 -g", ".config:5"],
      },
      tree,
    );
    const r = await runMain(["config", "--json", "--all", "-C", tree, "SEABIOS_UPSTREAM_REVISION=from-cli"], work, env);
    expect(r.code).toBe(0);
    compareJson(r.stdout, ref);
  });

  it("main(): a misspelt variable in .config is named with a did-you-mean warning", async () => {
    await setDotConfig(tree, "QEMU_UPSTREAM_REVISON = stable-4.17\n");
    const r = await runMain(["config"], tree, baseEnv(work));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/QEMU_UPSTREAM_REVISON \(set in \.config:1\).*did you mean QEMU_UPSTREAM_REVISION\?/);
  });

  it("main(): no warning for legitimate Xen variables set in .config", async () => {
    await setDotConfig(
      tree,
      [
        "debug_symbols = y",
        "XEN_EXTFILES_URL = https://mirror.example/xen-extfiles",
        "OVMF_UPSTREAM_URL = https://mirror.example/ovmf.git",
        "OVMF_UPSTREAM_REVISION = edk2-stable202211",
        "MINIOS_UPSTREAM_REVISION = master",
        "",
      ].join("\n"),
    );
    // make reads each of them: they are Xen variables, not typos.
    const ref = await makeReference({ tree, context: "tools", variables: ["debug_symbols", "XEN_EXTFILES_URL", "OVMF_UPSTREAM_URL", "OVMF_UPSTREAM_REVISION", "MINIOS_UPSTREAM_REVISION"], env: baseEnv(work) });
    expect(ref.get("OVMF_UPSTREAM_URL")).toMatchObject({ value: "https://mirror.example/ovmf.git", origin: "file", line: 3 });
    expect(ref.get("debug_symbols")).toMatchObject({ value: "y", origin: "file", line: 1 });
    const r = await runMain(["config"], tree, baseEnv(work));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("QEMU_UPSTREAM_URL");
    expect(r.stderr).toBe("");
  });

  it("built CLI: a .config make cannot parse: exit 2, .config, the line and make's message, no stack trace", async () => {
    await setDotConfig(tree, "QEMU_UPSTREAM_REVISION = stable-4.17\n\nthis is not make\n");
    const direct = await spawnResult("make", ["-s", "--no-print-directory", "-C", path.join(tree, "tools"), "-f", "Makefile", "xqbuild-ref-dir-force-update"], { cwd: work, env: baseEnv(work) });
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(/\.config:3: \*\*\* missing separator/);
    const r = await spawnResult(process.execPath, [cli, "config", "-C", tree], { cwd: work, env: baseEnv(work) });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/(^|[\s'"])\.config:3\b/);
    expect(r.stderr).toContain("missing separator");
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  });

  const badBytes: ReadonlyArray<readonly [string, Buffer, RegExp]> = [
    ["CRLF line endings", Buffer.from("QEMU_UPSTREAM_REVISION = stable-4.17\r\nGIT_HTTP = y\r\n"), /\.config:1\b.*carriage return/],
    ["CRLF on a later line only", Buffer.from("GIT_HTTP = y\n\nQEMU_UPSTREAM_REVISION = stable-4.17\r\n"), /\.config:3\b.*carriage return/],
    ["a UTF-8 byte-order mark", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("GIT_HTTP = y\n")]), /\.config:1\b.*byte-order mark/],
    ["a NUL byte", Buffer.from("GIT_HTTP = y\nQEMU_UPSTREAM_REVISION = stable\u00004.17\n"), /\.config:2\b.*NUL/],
  ];
  for (const [what, bytes, message] of badBytes) {
    it(`main(): .config with ${what}: exit 2 naming .config and the line`, async () => {
      await setDotConfig(tree, bytes);
      const r = await runMain(["config", "-C", tree], work, baseEnv(work));
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    });
  }

  const hostile: ReadonlyArray<readonly [string, (dir: string) => string, string, RegExp]> = [
    ["an ext:: remote-helper URL", (d) => `QEMU_UPSTREAM_URL = ext::sh -c touch% ${d}/pwned\n`, "QEMU_UPSTREAM_URL", /QEMU_UPSTREAM_URL \(\.config:2\)/],
    ["an option-shaped revision", (d) => `QEMU_UPSTREAM_REVISION = --upload-pack=touch ${d}/x\n`, "QEMU_UPSTREAM_REVISION", /QEMU_UPSTREAM_REVISION \(\.config:2\)/],
    ["an option-shaped ssh host", () => "SEABIOS_UPSTREAM_URL = ssh://-oProxyCommand=x/y\n", "SEABIOS_UPSTREAM_URL", /SEABIOS_UPSTREAM_URL \(\.config:2\)/],
  ];
  for (const [what, text, name, message] of hostile) {
    it(`built CLI: ${what} in .config: exit 2 naming ${name} and .config:2, nothing created`, async () => {
      const trap = path.join(work, `trap-${name}`);
      await mkdir(trap, { recursive: true });
      await setDotConfig(tree, `# hostile\n${text(trap)}`);
      const r = await spawnResult(process.execPath, [cli, "config", "-C", tree], { cwd: trap, env: baseEnv(trap) });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
      expect(readdirSync(trap)).toEqual([]);
      expect(existsSync(path.join(tree, "tools", "qemu-xen-dir-remote"))).toBe(false);
    });
  }
});
