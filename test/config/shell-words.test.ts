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

describe("shellWords with globCwd expands globs as /bin/sh does in that directory", () => {
  it("agrees with /bin/sh on matches, no matches, quoted and escaped pattern characters, dot files, brackets, relative and absolute patterns", async () => {
    const { execFileSync } = await import("node:child_process");
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xq-glob-"));
    try {
      const cwd = path.join(dir, "build");
      fs.mkdirSync(cwd);
      for (const f of ["host.conf", "hostname", "hosts", ".hidden", "B-1", "a-2", "x[1]", "star*"]) fs.writeFileSync(path.join(dir, f), "");
      fs.mkdirSync(path.join(dir, "sub"));
      fs.writeFileSync(path.join(dir, "sub", "in"), "");
      fs.writeFileSync(path.join(cwd, "local.txt"), "");
      const text = [
        `--foo ${dir}/host*`,
        `${dir}/nomatch*`,
        `'${dir}/host*'`,
        `${dir}/host\\*`,
        `"${dir}"/h?sts`,
        `${dir}/*`,
        `${dir}/.h*`,
        `${dir}/[ab]-?`,
        `${dir}/[!a]-1`,
        `${dir}/x[1]`,
        `${dir}/star[*]`,
        `../*/in`,
        `*.txt`,
        `--with-x=[a`,
        `--prefix=/usr/local`,
      ].join(" ");
      const out = execFileSync("/bin/sh", ["-c", `for w in ${text}; do printf '%s\\0' "$w"; done`], { cwd, env: { ...process.env, LC_ALL: "C" } }).toString();
      const sh = out.split("\0").slice(0, -1);
      expect(sh).toContain(`${dir}/hostname`); // the shell did expand: the comparison is not of two literal lists
      expect(shellWords(text, "t", { globCwd: cwd })).toEqual(sh);
      // Without a directory (meson's splitting, not a shell's) nothing is expanded.
      expect(shellWords(`${dir}/host*`, "t")).toEqual([`${dir}/host*`]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
