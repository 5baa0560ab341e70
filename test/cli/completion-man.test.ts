// Point 6 of issue 15: shell completions and a man page, made from the one table of commands and
// options. Each script runs in its real shell; the man page is rendered by groff (and man -l).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { COMMANDS, OPTIONS, optionsOf } from "../../src/cli/args.js";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { COMPONENT_NAMES } from "../../src/components/names.js";
import { FEATURE_NAMES } from "../../src/config/settings.js";

const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-completion-"));

async function print(argv: string[]): Promise<string> {
  const output = memoryOutput();
  const code = await main(argv, { cwd: dir, env: { PATH: process.env.PATH }, output });
  expect(code, output.stderr.join("\n")).toBe(0);
  return `${output.stdout.join("\n")}\n`;
}

function installed(program: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${program}`]).status === 0;
}

const scripts: Record<string, string> = {};
beforeAll(async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    scripts[shell] = path.join(dir, `xqbuild.${shell}`);
    writeFileSync(scripts[shell], await print(["completion", shell]));
  }
});

/** COMPREPLY of the bash script's function for the words typed so far (the last one being completed). */
function bashComplete(...words: string[]): string[] {
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", 'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _xqbuild; printf "%s\\n" "${COMPREPLY[@]}"', scripts.bash as string, ...words], {
    encoding: "utf8",
    cwd: dir,
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.split("\n").filter((l) => l !== "");
}

describe("bash completion", () => {
  it("registers _xqbuild for xqbuild", () => {
    const r = spawnSync("bash", ["--norc", "-c", 'source "$0" && complete -p xqbuild', scripts.bash as string], { encoding: "utf8" });
    expect(r.stdout.trim()).toBe("complete -F _xqbuild xqbuild");
  });

  it("completes commands and components in the command's place", () => {
    expect(bashComplete("xqbuild", "bu")).toEqual(["build"]);
    expect(bashComplete("xqbuild", "di")).toEqual(["distclean", "dist"]);
    expect(bashComplete("xqbuild", "")).toEqual([...COMMANDS, ...COMPONENT_NAMES]);
    expect(bashComplete("xqbuild", "build", "qemu-xen-")).toEqual(["qemu-xen-traditional"]);
    expect(bashComplete("xqbuild", "-j4", "build", "s")).toEqual(["seabios"]);
  });

  it("offers each command only its own options", () => {
    for (const c of COMMANDS) expect(bashComplete("xqbuild", c, "--"), c).toEqual(optionsOf(c).map((o) => `--${o.long}`));
    expect(bashComplete("xqbuild", "config", "--a")).toEqual(["--all"]);
    expect(bashComplete("xqbuild", "build", "--a")).toEqual([]);
    expect(bashComplete("xqbuild", "--dr")).toEqual(["--dry-run"]);
  });

  it("completes the values that are lists, separate or after '='", () => {
    expect(bashComplete("xqbuild", "build", "--with", "")).toEqual([...FEATURE_NAMES]);
    expect(bashComplete("xqbuild", "build", "--without", "=", "sp")).toEqual(["spice"]);
    expect(bashComplete("xqbuild", "build", "--with", "=")).toEqual([...FEATURE_NAMES]);
    expect(bashComplete("xqbuild", "completion", "")).toEqual(["bash", "zsh", "fish"]);
    expect(bashComplete("xqbuild", "cache", "p")).toEqual(["prune"]);
    expect(bashComplete("xqbuild", "help", "con")).toEqual(["configure", "config"]);
    expect(bashComplete("xqbuild", "config", "")).toEqual([]);
    expect(bashComplete("xqbuild", "-j", "")).toEqual([]);
  });

  it("completes directories for -C and files for --config-file", () => {
    mkdirSync(path.join(dir, "xen-tree"), { recursive: true });
    writeFileSync(path.join(dir, "xen-rc.json"), "{}");
    expect(bashComplete("xqbuild", "-C", "xen")).toEqual(["xen-tree"]);
    expect(bashComplete("xqbuild", "--config-file", "xen-r")).toEqual(["xen-rc.json"]);
    // legal-info DIR [component...]: a directory first, then components.
    expect(bashComplete("xqbuild", "legal-info", "xen")).toEqual(["xen-tree"]);
    expect(bashComplete("xqbuild", "legal-info", "--offline", "xen")).toEqual(["xen-tree"]);
    expect(bashComplete("xqbuild", "legal-info", "out", "se")).toEqual(["seabios"]);
  });
});

describe("zsh completion", () => {
  it("runs the same function through bashcompinit, per command", () => {
    // In CI the shell is there (.ci/run installs it): a missing one fails rather than checking less.
    if (!installed("zsh") && process.env.CI) throw new Error("zsh is not installed; .ci/run installs it (apt-get install zsh)");
    if (!installed("zsh")) {
      // Without zsh here: the script is bash's function plus two zsh lines, and bash must at least parse it.
      expect(spawnSync("bash", ["-n", scripts.zsh as string]).status).toBe(0);
      return;
    }
    // zsh's compgen stand-in leaves the prefix match to compadd: compare the candidates it hands over.
    const r = spawnSync(
      "zsh",
      ["-f", "-c", 'source "$1"; print -r -- "${_comps[xqbuild]}"; setopt ksharrays; COMP_WORDS=(xqbuild build --); COMP_CWORD=2; _xqbuild; print -r -- "${COMPREPLY[*]}"; COMP_WORDS=(xqbuild completion ""); _xqbuild; print -r -- "${COMPREPLY[*]}"', "zsh", scripts.zsh as string],
      { encoding: "utf8", cwd: dir, env: { PATH: process.env.PATH, HOME: dir } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split("\n").slice(0, 3)).toEqual(["_bash_complete -F _xqbuild", optionsOf("build").map((o) => `--${o.long}`).join(" "), "bash zsh fish"]);
  });
});

describe("fish completion", () => {
  it("completes commands, per-command options and feature names", () => {
    if (!installed("fish") && process.env.CI) throw new Error("fish is not installed; .ci/run installs it (apt-get install fish)");
    if (!installed("fish")) {
      // Without fish here: only the shape of each line can be checked.
      for (const line of (scripts.fish as string).split("\n")) expect(line === "" || line.startsWith("#") || line.startsWith("complete -c xqbuild")).toBe(true);
      return;
    }
    expect(spawnSync("fish", ["-n", scripts.fish as string]).status).toBe(0);
    const complete = (line: string): string[] => {
      const r = spawnSync("fish", ["--no-config", "-c", `source $argv[1]; complete -C ${JSON.stringify(line)}`, scripts.fish as string], { encoding: "utf8", cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("\t")[0] as string);
    };
    expect(complete("xqbuild bu")).toEqual(["build"]);
    expect(complete("xqbuild build --dr")).toEqual(["--dry-run"]);
    expect(complete("xqbuild build --al")).not.toContain("--all");
    expect(complete("xqbuild config --al")).toEqual(["--all"]);
    expect(complete("xqbuild --with ").sort()).toEqual([...FEATURE_NAMES].sort());
    expect(complete("xqbuild completion ").sort()).toEqual(["bash", "fish", "zsh"]);
  });
});

describe("the man page", () => {
  it("renders without warnings and names every command and option", async () => {
    const page = path.join(dir, "xqbuild.1");
    writeFileSync(page, await print(["man"]));
    const lint = spawnSync("groff", ["-man", "-ww", "-z", "-Tutf8", page], { encoding: "utf8" });
    expect(lint.status).toBe(0);
    expect(lint.stderr).toBe("");
    const text = spawnSync("groff", ["-man", "-Tascii", "-P-cbou", page], { encoding: "utf8", env: { ...process.env, MANWIDTH: "200" } }).stdout;
    expect(text).toMatch(/^XQBUILD\(1\)/);
    for (const c of COMMANDS) expect(text, c).toMatch(new RegExp(`^ +xqbuild ${c}\\b`, "m"));
    for (const o of OPTIONS) expect(text, o.long).toContain(`${o.short ? `-${o.short}, ` : ""}--${o.long}`);
    if (installed("man")) {
      const man = spawnSync("man", ["-l", page], { encoding: "utf8", env: { ...process.env, MANPAGER: "cat", MANWIDTH: "100" } });
      expect(man.status).toBe(0);
      expect(man.stderr).toBe("");
      expect(man.stdout).toContain("SHELL COMPLETION");
    }
  });
});
