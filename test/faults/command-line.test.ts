// Fault 11: bad command lines. Every one exits 2 with a one-paragraph error followed by the usage
// line, before touching anything; and output into a closed pipe (fault 10) is in build-failures.
import { mkdtempSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtCli, expectCleanError, makeTree, removeBases, runCli, tempBase, xq, type Tree } from "./support.js";

const USAGE_LINE = "usage: xqbuild [command] [component...] [VAR=value...] [options]";

let t: Tree;
beforeAll(() => {
  builtCli();
  t = makeTree(tempBase("cli"), "xen");
});
afterAll(removeBases);

describe("bad command lines: exit 2, a one-paragraph error and the usage line", () => {
  it.each([
    ["an unknown command", ["frobnicate"], /unknown command or component "frobnicate"/],
    ["an unknown component", ["all", "qemu-foo"], /unknown component "qemu-foo"/],
    ["an unknown long option", ["fetch", "--frobnicate"], /unknown option --frobnicate/],
    ["an unknown short option", ["fetch", "-Z"], /unknown option -Z/],
    ["an unknown option bundled with known ones", ["fetch", "-vZ"], /unknown option -Z in -vZ/],
    ["a flag given a value", ["fetch", "--offline=yes"], /--offline takes no value/],
    ["an option missing its value", ["fetch", "-C"], /-C needs a value/],
    ["an empty option value", ["fetch", "--config-file="], /--config-file needs a value/],
    ["an option for another command", ["fetch", "--destdir", "/tmp/x"], /--destdir does not apply to "xqbuild fetch"/],
    ["-v with -q", ["all", "-v", "-q"], /-v\/--verbose and -q\/--quiet cannot be used together/],
    ["--locked with --update-lock", ["fetch", "--locked", "--update-lock"], /--locked and --update-lock cannot be used together/],
    ["-j 0", ["all", "-j", "0"], /-j\/--jobs "0": expected a whole number of at least 1/],
    ["-j abc", ["all", "-j", "abc"], /-j\/--jobs "abc": expected a whole number/],
    ["-j -1", ["all", "-j", "-1"], /-j\/--jobs "-1": expected a whole number/],
    ["-j 1.5", ["all", "-j1.5"], /-j\/--jobs "1.5": expected a whole number/],
    ["--jobs= (empty)", ["all", "--jobs="], /--jobs needs a value/],
    ["-j without a value", ["all", "-j"], /-j needs a value/],
    ["--lock-timeout abc", ["fetch", "--lock-timeout", "abc"], /--lock-timeout "abc": expected a number of seconds/],
    ["an unknown feature", ["all", "--with", "frob"], /--with "frob": unknown feature/],
    ["a component given to config", ["config", "qemu-xen"], /xqbuild config takes variable names, not components/],
    // Conflicts found only once the configuration is read (resolveConfig) are usage errors too.
    ["--standalone with -C", ["plan", "--standalone", "-C", "/nonexistent"], /--standalone and -C\/--xen-root cannot be used together/],
    ["--xen-version without --standalone", ["plan", "--xen-version", "4.19"], /--xen-version is for standalone mode/],
  ] as const)("%s", async (_what, argv, why) => {
    // From an empty directory: nothing is read or written before the command line is checked.
    const cwd = mkdtempSync(path.join(t.base, "cwd-"));
    const r = await runCli(argv, { cwd, env: t.env, timeoutMs: 20_000 });
    expect(r.stderr).toMatch(why);
    const para = expectCleanError(r.stderr, { maxLines: 4 });
    expect(para, "the usage line").toContain(USAGE_LINE);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(2);
  });

  it("a bad option after a valid command in a tree changes nothing there", async () => {
    const r = await xq(t, ["distclean", "--frobnicate"]);
    expect(r.code).toBe(2);
    expectCleanError(r.stderr, { maxLines: 4 });
    expect(r.stderr).toContain(USAGE_LINE);
  });
});
