import { describe, expect, it } from "vitest";
import { shellWords } from "../../src/config/shell-words.js";

describe("shellWords splits like /bin/sh does an unquoted recipe line", () => {
  it.each([
    ["", []],
    ["  --a   --b\t--c ", ["--a", "--b", "--c"]],
    [`--extra-cflags="-DA=1 -DB=2 "`, ["--extra-cflags=-DA=1 -DB=2 "]],
    [`--x='a b' --y="c \\"d\\""`, ["--x=a b", '--y=c "d"']],
    [`a\\ b c`, ["a b", "c"]],
    [`"a"'b'c`, ["abc"]],
    [`--cflags="-I/x" -DA="1 2"`, ["--cflags=-I/x", "-DA=1 2"]],
    [`EXTRAVERSION="-Xen"`, ["EXTRAVERSION=-Xen"]],
  ])("%j", (text, words) => expect(shellWords(text, "test")).toEqual(words));

  it.each([`a "b`, `a 'b`, "$(rm -rf /)", "`id`", `"$HOME"`, "a;b", "a|b", "a && b"])("refuses %j instead of running a shell", (text) =>
    expect(() => shellWords(text, "CONFIG_QEMUU_EXTRA_ARGS")).toThrow(/CONFIG_QEMUU_EXTRA_ARGS/),
  );

  it("agrees with /bin/sh on quoting", async () => {
    const { execFileSync } = await import("node:child_process");
    const text = `--a="x y" 'p q' r\\ s "t'u" -DX=\\"1\\"`;
    const out = execFileSync("/bin/sh", ["-c", `for w in ${text}; do printf '%s\\0' "$w"; done`]).toString();
    expect(shellWords(text, "t")).toEqual(out.split("\0").slice(0, -1));
  });
});
