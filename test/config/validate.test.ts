import { describe, expect, it } from "vitest";
import { revisionProblem, urlProblem } from "../../src/config/validate.js";

describe("urlProblem", () => {
  it.each([
    "git://xenbits.xen.org/qemu-xen.git",
    "http://127.0.0.1:8080/git/seabios.git",
    "https://xenbits.xen.org/git-http/qemu-xen.git",
    "ssh://git@example.org/qemu.git",
    "git@example.org:qemu.git",
    "file:///srv/git/qemu.git",
    "/srv/git/qemu.git",
    "../qemu-xen.git",
  ])("accepts %s", (url) => expect(urlProblem(url)).toBeUndefined());

  it.each([
    ["ext::sh -c touch% /tmp/pwned", /white space|remote-helper/],
    ["ext::sh", /remote-helper syntax "ext::"/],
    ["fd::3", /remote-helper syntax "fd::"/],
    ["-uhack", /begins with '-'/],
    ["ssh://-oProxyCommand=touch/x", /host beginning with '-'/],
    ["-oProxyCommand=x:y", /begins with '-'/],
    ["ftp://example.org/x.git", /transport "ftp:\/\/"/],
    ["git://host/x.git\r", /control character/],
    ["x".repeat(5000), /characters long/],
  ])("refuses %j", (url, why) => expect(urlProblem(url)).toMatch(why));
});

describe("revisionProblem", () => {
  it.each(["", "qemu-xen-4.17.3", "stable-4.17", "rel-1.16.0", "master", "0123abcd", "origin/stable-4.17"])("accepts %j", (rev) =>
    expect(revisionProblem(rev)).toBeUndefined(),
  );
  it.each([
    ["--upload-pack=touch /tmp/x", /begins with '-'/],
    ["-c", /begins with '-'/],
    ["a b", /not a branch, tag or commit/],
    ["a..b", /not a branch, tag or commit/],
    ["HEAD@{1}", /not a branch, tag or commit/],
    ["v1\r", /control character/],
  ])("refuses %j", (rev, why) => expect(revisionProblem(rev)).toMatch(why));
});
