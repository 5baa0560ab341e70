// The containment rule of src/fsutil.ts on its own: what removeInside removes, what assertInside
// and mkdirInside refuse, and replaceFile's replacing (never writing through) a link. The fault
// suite (test/faults/trust-files.test.ts) shows the same through the CLI.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../src/util/errors.js";
import { assertInside, checkRemovable, InputFileError, isWithin, mkdirInside, readInputFileSync, removeInside, replaceFile, replaceFileSync, resolveExisting, staysInside } from "../src/util/fs.js";

/** root (the allowed directory) and, beside it, outside with a file that must survive. */
function layout(): { root: string; outside: string; precious: string } {
  const base = mkdtempSync(path.join(tmpdir(), "xqbuild-fsutil-"));
  const root = path.join(base, "root");
  const outside = path.join(base, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  const precious = path.join(outside, "precious");
  writeFileSync(precious, "keep\n");
  return { root, outside, precious };
}

describe("isWithin", () => {
  it("is true for the root and below it, false for a sibling whose name starts with ..", () => {
    expect(isWithin("/a/b", "/a/b")).toBe(true);
    expect(isWithin("/a/b/c", "/a/b")).toBe(true);
    expect(isWithin("/a/bc", "/a/b")).toBe(false);
    expect(isWithin("/a", "/a/b")).toBe(false);
    expect(isWithin("/a/b/..c", "/a/b")).toBe(true);
  });
});

describe("resolveExisting", () => {
  it("follows a dangling link to where a write would land", () => {
    const { root, outside } = layout();
    symlinkSync(path.join(outside, "not-yet"), path.join(root, "dangling"));
    expect(resolveExisting(path.join(root, "dangling"))).toBe(path.join(outside, "not-yet"));
    expect(resolveExisting(path.join(root, "dangling", "x", "y"))).toBe(path.join(outside, "not-yet", "x", "y"));
    expect(staysInside(path.join(root, "dangling"), root)).toBe(false);
    expect(staysInside(path.join(root, "new", "deeper"), root)).toBe(true);
  });
});

describe("removeInside", () => {
  it("unlinks a link to a directory outside and leaves what it pointed to", async () => {
    const { root, outside, precious } = layout();
    symlinkSync(outside, path.join(root, "link"));
    await removeInside(path.join(root, "link"), root);
    expect(existsSync(path.join(root, "link"))).toBe(false);
    expect(readFileSync(precious, "utf8")).toBe("keep\n");
  });

  it("refuses a path reached through a link out, naming the link, and removes nothing", async () => {
    const { root, outside } = layout();
    mkdirSync(path.join(outside, "victim"));
    symlinkSync(outside, path.join(root, "state"));
    const target = path.join(root, "state", "victim");
    expect(() => checkRemovable(target, root)).toThrow(UserError);
    await expect(removeInside(target, root)).rejects.toThrow(new RegExp(`${path.join(root, "state").replace(/[.+]/g, "\\$&")} is a symbolic link to`));
    expect(existsSync(path.join(outside, "victim"))).toBe(true);
  });

  it("removes a real directory inside, with the links in it unlinked and not followed", async () => {
    const { root, outside, precious } = layout();
    mkdirSync(path.join(root, "d", "e"), { recursive: true });
    symlinkSync(outside, path.join(root, "d", "e", "out"));
    await removeInside(path.join(root, "d"), root);
    expect(existsSync(path.join(root, "d"))).toBe(false);
    expect(readFileSync(precious, "utf8")).toBe("keep\n");
  });

  it("is content with a path that is not there, or under a file", async () => {
    const { root } = layout();
    writeFileSync(path.join(root, "f"), "x");
    await removeInside(path.join(root, "absent"), root);
    await removeInside(path.join(root, "f", "below"), root);
    expect(checkRemovable(path.join(root, "absent"), root)).toBe("absent");
  });
});

describe("mkdirInside and assertInside", () => {
  it("names the file that stands where a directory must be", async () => {
    const { root } = layout();
    writeFileSync(path.join(root, ".state"), "a file\n");
    await expect(mkdirInside(path.join(root, ".state", "x"), root, "its state")).rejects.toThrow(`${path.join(root, ".state")} is a file, not a directory`);
  });

  it("refuses a directory whose deepest existing part leaves the root", async () => {
    const { root, outside } = layout();
    symlinkSync(outside, path.join(root, "link"));
    await expect(mkdirInside(path.join(root, "link", "new"), root)).rejects.toThrow(UserError);
    expect(existsSync(path.join(outside, "new"))).toBe(false);
    // A link that stays inside is fine.
    mkdirSync(path.join(root, "real"));
    symlinkSync("real", path.join(root, "inner"));
    expect(() => assertInside(path.join(root, "inner", "x"), root)).not.toThrow();
  });
});

describe("replaceFile", () => {
  it("replaces a link at the target instead of writing through it", async () => {
    const { root, precious } = layout();
    const target = path.join(root, ".version");
    symlinkSync(precious, target);
    await replaceFile(target, { content: "rel-1\n" }, 0o644);
    expect(lstatSync(target).isFile()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("rel-1\n");
    expect(readFileSync(precious, "utf8")).toBe("keep\n");
    const copied = path.join(root, ".config");
    symlinkSync(precious, copied);
    await replaceFile(copied, { from: target });
    expect(readFileSync(copied, "utf8")).toBe("rel-1\n");
    expect(readFileSync(precious, "utf8")).toBe("keep\n");
  });

  it("replaceFileSync refuses a directory that leaves the root", () => {
    const { root, outside } = layout();
    symlinkSync(outside, path.join(root, ".state"));
    expect(() => replaceFileSync(path.join(root, ".state", "answer.json"), "{}", root)).toThrow(UserError);
    expect(existsSync(path.join(outside, "answer.json"))).toBe(false);
  });
});

describe("readInputFileSync", () => {
  it("reads a regular file (through a link), and refuses a FIFO at once, a device, a directory and a file over the limit, each saying what it is", () => {
    const { root } = layout();
    const file = path.join(root, "key.asc");
    writeFileSync(file, "KEY\n");
    symlinkSync(file, path.join(root, "link"));
    expect(readInputFileSync(path.join(root, "link")).toString()).toBe("KEY\n");
    const fifo = path.join(root, "fifo");
    execFileSync("mkfifo", [fifo]);
    const reason = (f: string, max?: number): string => {
      try {
        readInputFileSync(f, max);
      } catch (e) {
        expect(e).toBeInstanceOf(InputFileError);
        return (e as InputFileError).reason;
      }
      return "read";
    };
    expect(reason(fifo)).toMatch(/named pipe/);
    expect(reason("/dev/zero")).toMatch(/device/);
    expect(reason(root)).toMatch(/directory/);
    expect(reason(file, 3)).toMatch(/larger than/);
    expect(reason(file, 4)).toBe("read");
    expect(reason(path.join(root, "absent"))).toBe("ENOENT");
  });
});
