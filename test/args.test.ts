import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/cli/args.js";
import { UsageError } from "../src/util/errors.js";

describe("parseArgs", () => {
  it("defaults to all and separates components, assignments and options", () => {
    const a = parseArgs(["qemu-xen", "debug=y", "-j3", "-C", "/x", "--offline", "EXTRA_CFLAGS_QEMU_XEN=-O1 -g"]);
    expect(a.command).toBe("all");
    expect(a.components).toEqual(["qemu-xen"]);
    expect(a.assignments).toEqual({ debug: "y", EXTRA_CFLAGS_QEMU_XEN: "-O1 -g" });
    expect(a.jobs).toBe(3);
    expect(a.xenRoot).toBe("/x");
    expect(a.offline).toBe(true);
  });

  it("reads a command first, long options with = and bundled short flags", () => {
    const a = parseArgs(["plan", "seabios", "--jobs=2", "--xen-root=../xen", "--json", "--with", "libusb", "--without=spice"]);
    expect(a.command).toBe("plan");
    expect(a.components).toEqual(["seabios"]);
    expect(a.jobs).toBe(2);
    expect(a.xenRoot).toBe("../xen");
    expect(a.json).toBe(true);
    expect(a.features).toEqual({ libusb: true, spice: false });
  });

  it("keeps an assignment's value verbatim, = signs and spaces included", () => {
    expect(parseArgs(["config", "CONFIG_QEMUU_EXTRA_ARGS=--a=b --c"]).assignments).toEqual({ CONFIG_QEMUU_EXTRA_ARGS: "--a=b --c" });
  });

  it("takes variable names as words for config", () => {
    const a = parseArgs(["config", "PYTHON", "prefix", "--json"]);
    expect(a.words).toEqual(["PYTHON", "prefix"]);
  });

  it.each([
    [["frobnicate"], /unknown command or component "frobnicate"/],
    [["build", "qemu"], /unknown component "qemu"/],
    [["--frob"], /unknown option --frob/],
    [["-Z"], /unknown option -Z/],
    [["-j", "0"], /-j\/--jobs "0"/],
    [["-j", "abc"], /-j\/--jobs "abc"/],
    [["-j"], /-j needs a value/],
    [["-v", "-q"], /cannot be used together/],
    [["--with", "sound"], /unknown feature/],
    [["plan", "--destdir", "/d"], /--destdir does not apply to "xqbuild plan"/],
    [["--json=yes"], /takes no value/],
  ])("refuses %j as a usage error", (argv, message) => {
    let err: unknown;
    try {
      parseArgs(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
  });

  it("treats words after -- as positional", () => {
    expect(() => parseArgs(["--", "--json"])).toThrow(/unknown command or component "--json"/);
  });
});
