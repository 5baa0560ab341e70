// `xqbuild config --why VAR` on the real Xen 4.17 tree: the chain of assignments that decided a
// variable's value, derived from GNU make (config/why.ts). Each case sets or appends one variable in
// .config, .Config.mk, the environment, the command line and the xqbuild config file, states the
// chain it must give (origins with the real tree's line numbers, and the value after each step), and
// checks the last value against `xqbuild config VAR` and against GNU make run directly as Xen's glue
// runs it (test/support/make-diff.ts, which shares no code with xqbuild).
import { realpathSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main, memoryOutput } from "../../src/cli/main.js";
import { blankLines } from "../../src/config/why.js";
import { baseEnv, copyTree, makeReference, removeFile, writeFresh, xenTrees, type MakeContext } from "../support/make-diff.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Xen's make reads .Config.mk through this fragment at the end of tools/Makefile (see resolve.ts). */
const FRAGMENT = path.join(REPO, "make", "xqbuild.mk");

/** One step as the test states it: origin as `xqbuild config` prints origins, and the value after it. */
type Step = readonly [origin: string, value: string];

interface JsonStep {
  readonly origin: string;
  readonly kind: string;
  readonly value: string;
  readonly line?: number;
  readonly text?: string;
  readonly key?: string;
  readonly incomplete?: string;
}

async function runMain(argv: readonly string[], cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = memoryOutput();
  const code = await main(argv, { cwd, env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

const trees = xenTrees();

describe.skipIf(trees === undefined)("xqbuild config --why on a configured Xen 4.17 tree", () => {
  let work: string;
  let tree: string;
  beforeAll(async () => {
    work = realpathSync(await mkdtemp(path.join(tmpdir(), "xqbuild-why-test-")));
    tree = await copyTree(trees?.configured ?? "", path.join(work, "xen"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const f of [".config", ".Config.mk", "xqbuild.config.json"]) await removeFile(path.join(tree, f));
  });

  /**
   * Runs --why (JSON and plain), `config VAR --json` and make itself; checks the chain against
   * `want`, and that its last value is config's and make's.
   */
  async function check(a: {
    name: string;
    context?: MakeContext;
    env?: Record<string, string>;
    commandLine?: Record<string, string>;
    /** What make is given on the command line for the config file's `variables` (they act as command-line variables). */
    settingsAsCommandLine?: Record<string, string>;
    configMk?: boolean;
    want: readonly Step[];
    /** The effective value when the config file adds configure arguments after make's value. */
    effective?: string;
  }): Promise<JsonStep[]> {
    const env = baseEnv(work, a.env ?? {});
    const words = Object.entries(a.commandLine ?? {}).map(([k, v]) => `${k}=${v}`);
    const r = await runMain(["config", "--why", a.name, "--json", "-C", tree, ...words], work, env);
    expect(r.code, r.stderr).toBe(0);
    const chain = JSON.parse(r.stdout) as JsonStep[];
    expect(chain.map((s) => [s.origin, s.value])).toEqual(a.want);

    const plain = await runMain(["config", "--why", a.name, "-C", tree, ...words], work, env);
    expect(plain.code).toBe(0);
    const one = await runMain(["config", a.name, "-C", tree, ...words], work, env);
    expect(one.code).toBe(0);
    // The plain chain ends with the line `xqbuild config VAR` prints for the variable.
    expect(plain.stdout.split("\n").at(-1)).toBe(one.stdout.split("\n").at(-1));
    for (const [i, [origin, value]] of a.want.entries()) {
      expect(plain.stdout).toContain(`${i + 1}. ${origin}`);
      expect(plain.stdout).toContain(`   = ${value}`);
    }

    const json = await runMain(["config", a.name, "--json", "-C", tree, ...words], work, env);
    const entry = (JSON.parse(json.stdout) as Record<string, { value: string; glue?: { value: string } }>)[a.name];
    const last = chain.at(-1)?.value;
    expect(last).toBe(entry?.value);

    const ref = await makeReference({
      tree,
      context: a.context ?? "tools",
      variables: [a.name],
      env,
      commandLine: { ...(a.settingsAsCommandLine ?? {}), ...(a.commandLine ?? {}) },
      extraMakefiles: a.configMk ? [FRAGMENT] : [],
    });
    // make's value: the chain's last (or, with the config file's configure arguments, the glue's part of it).
    expect(ref.get(a.name)?.value).toBe(a.effective !== undefined ? entry?.glue?.value : last);
    if (a.effective !== undefined) expect(last).toBe(a.effective);
    return chain;
  }

  it("environment, config/Tools.mk, a .config line and a .Config.mk += line, in the order make applies them", async () => {
    await writeFresh(path.join(tree, ".config"), "# QEMU options\nCONFIG_QEMUU_EXTRA_ARGS = --enable-a\n");
    await writeFresh(path.join(tree, ".Config.mk"), "CONFIG_QEMUU_EXTRA_ARGS += --enable-b\n");
    const chain = await check({
      name: "CONFIG_QEMUU_EXTRA_ARGS",
      env: { CONFIG_QEMUU_EXTRA_ARGS: "--from-env" },
      configMk: true,
      want: [
        ["environment", "--from-env"],
        ["config/Tools.mk:54", ""],
        [".config:2", "--enable-a"],
        [".Config.mk:1", "--enable-a --enable-b"],
      ],
    });
    expect(chain.map((s) => s.text)).toEqual(["CONFIG_QEMUU_EXTRA_ARGS=--from-env", "CONFIG_QEMUU_EXTRA_ARGS:=", "CONFIG_QEMUU_EXTRA_ARGS = --enable-a", "CONFIG_QEMUU_EXTRA_ARGS += --enable-b"]);
  });

  it("Config.mk's ?= default under a .config line, the config file's variables and the command line above them", async () => {
    await writeFresh(path.join(tree, ".config"), "QEMU_UPSTREAM_REVISION = stable-4.17\n");
    await writeFresh(path.join(tree, "xqbuild.config.json"), JSON.stringify({ variables: { QEMU_UPSTREAM_REVISION: "from-settings" } }));
    const chain = await check({
      name: "QEMU_UPSTREAM_REVISION",
      commandLine: { QEMU_UPSTREAM_REVISION: "from-cli" },
      settingsAsCommandLine: { QEMU_UPSTREAM_REVISION: "from-settings" },
      want: [
        ["Config.mk:234", "qemu-xen-4.17.3"],
        [".config:1", "stable-4.17"],
        ["xqbuild config xqbuild.config.json", "from-settings"],
        ["command line", "from-cli"],
      ],
    });
    expect(chain[0]?.text).toBe("QEMU_UPSTREAM_REVISION ?= qemu-xen-4.17.3");
    expect(chain[2]?.key).toBe("variables.QEMU_UPSTREAM_REVISION");
  });

  it("an override in .Config.mk wins over the command line; beneath .config's ?= is Config.mk's, the default without it", async () => {
    await writeFresh(path.join(tree, ".config"), "SEABIOS_UPSTREAM_REVISION ?= rel-ignored\n");
    await writeFresh(path.join(tree, ".Config.mk"), "# pin\noverride SEABIOS_UPSTREAM_REVISION = rel-1.16.3\n");
    await check({
      name: "SEABIOS_UPSTREAM_REVISION",
      commandLine: { SEABIOS_UPSTREAM_REVISION: "rel-cli" },
      configMk: true,
      want: [
        ["Config.mk:237", "rel-1.16.0"],
        [".config:1", "rel-ignored"],
        ["command line", "rel-cli"],
        [".Config.mk:2", "rel-1.16.3"],
      ],
    });
  });

  it("CONFIG_QEMUU_EXTRA_ARGS: the config file's extraConfigureArgs come last, after make's value", async () => {
    await writeFresh(path.join(tree, ".config"), "CONFIG_QEMUU_EXTRA_ARGS = --enable-a\n");
    await writeFresh(path.join(tree, "xqbuild.config.json"), JSON.stringify({ components: { "qemu-xen": { extraConfigureArgs: ["--enable-c", "--x=a b"] } } }));
    const chain = await check({
      name: "CONFIG_QEMUU_EXTRA_ARGS",
      want: [
        ["config/Tools.mk:54", ""],
        [".config:1", "--enable-a"],
        ["xqbuild config xqbuild.config.json", "--enable-a --enable-c '--x=a b'"],
      ],
      effective: "--enable-a --enable-c '--x=a b'",
    });
    expect(chain.at(-1)?.key).toBe("components.qemu-xen.extraConfigureArgs");
  });

  it("a firmware variable: the Makefile's ?= default, a continued .config line, then a define block", async () => {
    await writeFresh(path.join(tree, ".config"), "SEABIOSCC = clang \\\n  -O2\ndefine SEABIOSCC\ncc\nendef\n");
    const chain = await check({
      name: "SEABIOSCC",
      context: "firmware",
      want: [
        ["tools/firmware/Makefile:18", "gcc"],
        [".config:1", "clang -O2"],
        [".config:3", "cc"],
      ],
    });
    expect(chain.map((s) => s.text)).toEqual(["SEABIOSCC ?= $(CC)", "SEABIOSCC = clang \\", "define SEABIOSCC"]);
  });

  it("a feature switch: the config file's features under --with on the command line", async () => {
    await writeFresh(path.join(tree, "xqbuild.config.json"), JSON.stringify({ features: { "9pfs": false } }));
    const output = memoryOutput();
    const code = await main(["config", "--why", "CONFIG_9PFS", "--json", "--with", "9pfs", "-C", tree], { cwd: work, env: baseEnv(work), output });
    expect(code, output.stderr.join("\n")).toBe(0);
    const chain = JSON.parse(output.stdout.join("\n")) as JsonStep[];
    expect(chain.map((s) => [s.origin, s.key ?? s.text, s.value])).toEqual([
      ["config/Tools.mk:61", "CONFIG_9PFS         :=", ""],
      ["xqbuild config xqbuild.config.json", "features.9pfs", "n"],
      ["command line", "CONFIG_9PFS=y", "y"],
    ]);
  });

  it("the plain listing: numbered steps, the line as written, the value after each, and config's line last", async () => {
    await writeFresh(path.join(tree, ".config"), "QEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git\n");
    const r = await runMain(["config", "--why", "QEMU_UPSTREAM_URL", "-C", tree, "QEMU_UPSTREAM_URL=https://cli.example/q.git"], work, baseEnv(work));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        `# QEMU_UPSTREAM_URL: the assignments that decided its value, first to last (Xen tree ${tree})`,
        "1. Config.mk:228: QEMU_UPSTREAM_URL ?= git://xenbits.xen.org/qemu-xen.git",
        "   = git://xenbits.xen.org/qemu-xen.git",
        "2. .config:1: QEMU_UPSTREAM_URL = https://mirror.example/qemu-xen.git",
        "   = https://mirror.example/qemu-xen.git",
        "3. command line: QEMU_UPSTREAM_URL=https://cli.example/q.git",
        "   = https://cli.example/q.git",
        "QEMU_UPSTREAM_URL = https://cli.example/q.git  [command line]",
      ].join("\n"),
    );
  });

  it("when make cannot read the tree without a step, the chain says so instead of guessing what was beneath", async () => {
    await writeFresh(path.join(tree, ".config"), "QEMU_UPSTREAM_REVISION = pinned\n$(if $(QEMU_UPSTREAM_REVISION),,$(error QEMU_UPSTREAM_REVISION must be set))\n");
    const r = await runMain(["config", "--why", "QEMU_UPSTREAM_REVISION", "--json", "-C", tree], work, baseEnv(work));
    expect(r.code, r.stderr).toBe(0);
    const [first, ...steps] = JSON.parse(r.stdout) as JsonStep[];
    expect(first?.incomplete).toContain("make could not read the makefiles without .config:1: .config:2: make cannot read the Xen tree's configuration: QEMU_UPSTREAM_REVISION must be set");
    expect(steps.map((s) => [s.origin, s.value])).toEqual([[".config:1", "pinned"]]);
    const plain = await runMain(["config", "--why", "QEMU_UPSTREAM_REVISION", "-C", tree], work, baseEnv(work));
    expect(plain.stdout).toContain("# (earlier ones not shown: make could not read the makefiles without .config:1:");
  });

  it("a variable nothing sets: an empty chain", async () => {
    const r = await runMain(["config", "--why", "QEMU_TAG", "--json", "-C", tree], work, baseEnv(work));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    const plain = await runMain(["config", "--why", "QEMU_TAG", "-C", tree], work, baseEnv(work));
    expect(plain.stdout.split("\n").slice(1)).toEqual(["# no makefile, environment variable or command-line variable sets it", "QEMU_TAG =  [undefined]"]);
  });

  it("--why takes one variable: another word is a usage error (exit 2)", async () => {
    const r = await runMain(["config", "--why", "QEMU_UPSTREAM_URL", "GIT", "-C", tree], work, baseEnv(work));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("xqbuild config --why QEMU_UPSTREAM_URL takes no other variable (GIT given)");
  });

  it("an unknown variable: did you mean, exit 2, and nothing on stdout", async () => {
    const r = await runMain(["config", "--why", "QEMU_UPSTREAM_REVISON", "-C", tree], work, baseEnv(work));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('"QEMU_UPSTREAM_REVISON" is not a variable xqbuild reads');
    expect(r.stderr).toContain("Did you mean QEMU_UPSTREAM_REVISION?");
  });
});

describe.skipIf(trees === undefined)("xqbuild config --why without a configured tree", () => {
  let work: string;
  beforeAll(async () => {
    work = realpathSync(await mkdtemp(path.join(tmpdir(), "xqbuild-why-test-")));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("an unconfigured tree: the stand-in for config/Tools.mk is a built-in default, then .config", async () => {
    const tree = await copyTree(trees?.unconfigured ?? "", path.join(work, "unconfigured"));
    await writeFresh(path.join(tree, ".config"), "CONFIG_QEMUU_EXTRA_ARGS += --enable-a\n");
    const r = await runMain(["config", "--why", "CONFIG_QEMUU_EXTRA_ARGS", "--json", "-C", tree], work, baseEnv(work));
    expect(r.code, r.stderr).toBe(0);
    const chain = JSON.parse(r.stdout) as JsonStep[];
    expect(chain.map((s) => [s.kind, s.origin, s.value])).toEqual([
      ["built-in default", "built-in default", ""],
      ["file", ".config:1", "--enable-a"],
    ]);
    const ref = await makeReference({ tree, context: "tools", variables: ["CONFIG_QEMUU_EXTRA_ARGS"], env: baseEnv(work) });
    // Without config/Tools.mk make itself sees only .config's +=.
    expect(ref.get("CONFIG_QEMUU_EXTRA_ARGS")?.value).toBe("--enable-a");
  });

  it("standalone: the built-in default, then the environment's value over its ?=", async () => {
    const dir = path.join(work, "standalone");
    await mkdir(dir);
    const env = baseEnv(work, { QEMU_UPSTREAM_REVISION: "from-env" });
    const plain = await runMain(["config", "QEMU_UPSTREAM_REVISION", "--json", "--standalone", "--xen-version", "4.19"], dir, baseEnv(work));
    const builtin = (JSON.parse(plain.stdout) as Record<string, { value: string }>).QEMU_UPSTREAM_REVISION?.value;
    expect(builtin).toMatch(/^qemu-xen-4\.19\./);
    const r = await runMain(["config", "--why", "QEMU_UPSTREAM_REVISION", "--json", "--standalone", "--xen-version", "4.19"], dir, env);
    expect(r.code, r.stderr).toBe(0);
    const chain = JSON.parse(r.stdout) as JsonStep[];
    expect(chain.map((s) => [s.origin, s.value])).toEqual([
      ["built-in default", builtin],
      ["environment", "from-env"],
    ]);
  });
});

describe("blankLines: an assignment make read as one goes as one, and line numbers stay", () => {
  it("a plain line, a continued line and a define block", () => {
    const text = "A = 1\nB = 2 \\\n  3\ndefine C\nx\nendef\nD = 4\n";
    expect(blankLines(text, new Set([1]))).toBe("\nB = 2 \\\n  3\ndefine C\nx\nendef\nD = 4\n");
    expect(blankLines(text, new Set([2]))).toBe("A = 1\n\n\ndefine C\nx\nendef\nD = 4\n");
    expect(blankLines(text, new Set([4]))).toBe("A = 1\nB = 2 \\\n  3\n\n\n\nD = 4\n");
    expect(blankLines(text, undefined)).toBe(text);
  });
});
