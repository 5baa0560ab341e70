// Fault 6: hostile configuration. Remote helpers (ext::, fd::), ssh options smuggled as host
// names, values beginning with '-' (--upload-pack=, -c, --config=) in URLs and revisions, shell
// in CONFIG_QEMUU_EXTRA_ARGS, git's configuration and repository redirected through the
// environment (GIT_CONFIG_COUNT/KEY/VALUE, GIT_CONFIG_PARAMETERS, GIT_DIR, ...), CRLF, NUL and a BOM
// in .config, 1 MB values. Nothing is executed (an injected command would create a marker file),
// the right repository is used, and the error is one clear paragraph naming the variable.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { readRecords } from "../support/records.js";
import { builtCli, expectCleanError, expectOk, head, makeTree, qemuRemote, removeBases, seabiosRemote, tempBase, urlLines, xq, type RunResult, type Tree } from "./support.js";

let base: string;
let repos: UpstreamRepos;
let marker: string;
let evil: string;
let hooks: string;

beforeAll(() => {
  builtCli();
  base = tempBase("hostile-config");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
  marker = path.join(base, "MARKER-injected-command-ran");
  evil = path.join(base, "evil.sh");
  writeFileSync(evil, `#!/bin/sh\necho "$0 $*" >> ${marker}\ncat >/dev/null 2>&1 </dev/null\nexit 0\n`);
  chmodSync(evil, 0o755);
  hooks = path.join(base, "evil-hooks");
  mkdirSync(hooks);
  for (const h of ["post-checkout", "post-commit", "pre-commit", "post-merge", "reference-transaction", "pre-auto-gc", "post-rewrite", "fsmonitor-watchman"]) {
    writeFileSync(path.join(hooks, h), `#!/bin/sh\necho "hook ${h}" >> ${marker}\nexit 0\n`);
    chmodSync(path.join(hooks, h), 0o755);
  }
});
afterAll(removeBases);

let n = 0;
function tree(lines: string[] = [], env: Record<string, string | undefined> = {}, opts: { urls?: boolean } = {}): Tree {
  const urls = opts.urls === false ? [] : urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url });
  return makeTree(base, `t${n++}`, { config: [...urls, ...lines], env });
}

function expectNothingRan(): void {
  expect(existsSync(marker) ? readFileSync(marker, "utf8") : "", "an injected command ran").toBe("");
}

/** Refused when the configuration is read: exit 2, the variable and where it was set named, nothing done. */
function expectRefused(t: Tree, r: RunResult, variable: string, origin: RegExp, why: RegExp): void {
  expectNothingRan();
  expect(r.code, r.stderr).toBe(2);
  const para = expectCleanError(r.stderr, { maxLines: 4, maxChars: 1500 });
  expect(para).toContain(variable);
  expect(para).toMatch(origin);
  expect(para).toMatch(why);
  expect(existsSync(qemuRemote(t))).toBe(false);
  expect(existsSync(seabiosRemote(t))).toBe(false);
}

describe.concurrent("hostile URLs and revisions are refused when the configuration is read", () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ["ext:: remote helper", "QEMU_UPSTREAM_URL", "ext::sh -c touch% /tmp/xqbuild-never", /remote-helper|white space|transport/],
    ["ext:: without blanks", "QEMU_UPSTREAM_URL", "ext::/bin/evil", /remote-helper syntax "ext::"/],
    ["fd:: remote helper", "SEABIOS_UPSTREAM_URL", "fd::7", /remote-helper syntax "fd::"/],
    ["ssh://-oProxyCommand=", "QEMU_UPSTREAM_URL", "ssh://-oProxyCommand=EVIL/qemu-xen.git", /host beginning with '-'/],
    ["scp-style -oProxyCommand=", "SEABIOS_UPSTREAM_URL", "-oProxyCommand=EVIL:seabios.git", /begins with '-'/],
    ["--upload-pack= as a URL", "QEMU_UPSTREAM_URL", "--upload-pack=EVIL", /begins with '-'/],
    ["-c smuggled as a URL", "SEABIOS_UPSTREAM_URL", "-ccore.sshCommand=EVIL", /begins with '-'/],
    ["--config= smuggled as a URL", "QEMU_UPSTREAM_URL", "--config=core.hooksPath=HOOKS", /begins with '-'/],
    ["--upload-pack= after a URL", "QEMU_UPSTREAM_URL", "file:///tmp/x.git --upload-pack=EVIL", /white space/],
    ["an unknown transport", "SEABIOS_UPSTREAM_URL", "gopher://127.0.0.1/seabios.git", /transport "gopher:\/\/"/],
    ["--upload-pack= as a revision", "QEMU_UPSTREAM_REVISION", "--upload-pack=EVIL", /begins with '-'/],
    ["-c as a revision", "SEABIOS_UPSTREAM_REVISION", "-ccore.hooksPath=HOOKS", /begins with '-'/],
    ["--config= as a revision", "QEMU_UPSTREAM_REVISION", "--config=core.fsmonitor=EVIL", /begins with '-'/],
    ["a revision with a blank and an option", "SEABIOS_UPSTREAM_REVISION", "rel-1.16.0 --upload-pack=EVIL", /not a branch, tag or commit name/],
    ["a revision range", "SEABIOS_UPSTREAM_REVISION", "rel-1.16.0..master", /not a branch, tag or commit name/],
  ];
  const fill = (v: string): string => v.replace("EVIL", evil).replace("HOOKS", hooks);

  it.each(cases)("%s (on the command line)", async (_what, variable, value, why) => {
    const t = tree();
    const r = await xq(t, ["fetch", `${variable}=${fill(value)}`]);
    expectRefused(t, r, variable, /command line/, why);
  });

  it.each(cases)("%s (in .config)", async (_what, variable, value, why) => {
    const t = tree([`${variable} = ${fill(value)}`]);
    const r = await xq(t, ["all"]);
    expectRefused(t, r, variable, /\.config:\d+/, why);
  });

  // The environment reaches the same check as the other origins: a few representative cases.
  it.each(cases.filter((c) => ["ext:: without blanks", "ssh://-oProxyCommand=", "--upload-pack= as a URL", "-c as a revision"].includes(c[0])))("%s (in the environment)", async (_what, variable, value, why) => {
    // No URL in .config, which would win over the environment (Config.mk's ?= defaults do not).
    const t = tree([], {}, { urls: false });
    const r = await xq(t, ["fetch"], { [variable]: fill(value) });
    expectRefused(t, r, variable, /environment/, why);
  });

  it("a control character (a tab) in a URL on the command line", async () => {
    const t = tree();
    const r = await xq(t, ["fetch", `QEMU_UPSTREAM_URL=${repos.qemuXen.url}\t--upload-pack=${evil}`]);
    expectRefused(t, r, "QEMU_UPSTREAM_URL", /command line/, /control character/);
  });

  it.each(["ext::EVIL%20", "--upload-pack=EVIL%20"])("a hostile mirror in the xqbuild config file (%s) is refused when the file is read, naming it", async (mirror) => {
    const target = fill(mirror).replace("%20", "/");
    const t = tree();
    writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify({ mirrors: { [path.dirname(repos.seabios.url) + "/"]: target } }));
    const r = await xq(t, ["fetch", "seabios"]);
    expectNothingRan();
    expect(existsSync(seabiosRemote(t))).toBe(false);
    const para = expectCleanError(r.stderr, { maxLines: 8 });
    expect(para, "the error names the mirrors setting").toMatch(/mirrors/);
    expect(r.code).toBe(2);
  });
});

describe("CONFIG_QEMUU_EXTRA_ARGS", () => {
  it("options aimed at git (--upload-pack=, -c, --config) are configure arguments, passed literally, nothing run", async () => {
    const t = tree([`CONFIG_QEMUU_EXTRA_ARGS = --upload-pack=${evil} -c core.hooksPath=${hooks} --config=core.fsmonitor=${evil}`]);
    const record = path.join(t.base, "extra-record.jsonl");
    const r = await xq(t, ["all", "qemu-xen"], { XQ_RECORD: record });
    expectOk(r);
    expectNothingRan();
    const conf = readRecords(record).find((x) => x.tool === "configure");
    expect(conf && "argv" in conf ? conf.argv : []).toEqual(expect.arrayContaining([`--upload-pack=${evil}`, "-c", `core.hooksPath=${hooks}`, `--config=core.fsmonitor=${evil}`]));
  });

  it.each([
    ["$(...) command substitution", `$$(${evil})`],
    ["backquotes", `\`${evil}\``],
    ["a ; command separator", `--enable-x ; ${evil}`],
    ["a pipe", `--enable-x | ${evil}`],
    ["a redirection", `--enable-x > ${marker}`],
  ])("shell in it (%s) is refused before anything runs", async (_what, value) => {
    const t = tree([`CONFIG_QEMUU_EXTRA_ARGS = ${value}`]);
    const r = await xq(t, ["all", "qemu-xen"]);
    expectNothingRan();
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr, { maxLines: 4 });
    expect(para).toMatch(/CONFIG_QEMUU_EXTRA_ARGS/);
    expect(para).toMatch(/shell/);
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-build", "Makefile"))).toBe(false);
  });
});

describe("git redirected through the environment", () => {
  it("GIT_CONFIG_COUNT/KEY/VALUE (core.hooksPath, core.fsmonitor, an alias), GIT_CONFIG_PARAMETERS, GIT_DIR and friends are ignored: nothing runs, the right repository is used", async () => {
    // Another repository GIT_DIR points at: it must not be touched.
    const other = path.join(base, "other.git");
    git(["clone", "-q", "--bare", repos.qemuTraditional.path, other]);
    const otherState = (): string => git(["for-each-ref", "--format=%(refname) %(objectname)"], { env: { ...gitEnv(), GIT_DIR: other } }) + readFileSync(path.join(other, "config"), "utf8") + readFileSync(path.join(other, "HEAD"), "utf8");
    const before = otherState();
    const globalConfig = path.join(base, "evil-global.gitconfig");
    writeFileSync(globalConfig, `[core]\n\thooksPath = ${hooks}\n\tfsmonitor = ${evil}\n[protocol "ext"]\n\tallow = always\n`);
    const hostileEnv = {
      GIT_CONFIG_COUNT: "4",
      GIT_CONFIG_KEY_0: "core.hooksPath",
      GIT_CONFIG_VALUE_0: hooks,
      GIT_CONFIG_KEY_1: "core.fsmonitor",
      GIT_CONFIG_VALUE_1: evil,
      GIT_CONFIG_KEY_2: "alias.clone",
      GIT_CONFIG_VALUE_2: `!${evil}`,
      GIT_CONFIG_KEY_3: "core.sshCommand",
      GIT_CONFIG_VALUE_3: evil,
      GIT_CONFIG_PARAMETERS: `'core.hooksPath'='${hooks}' 'core.fsmonitor'='${evil}'`,
      GIT_CONFIG_GLOBAL: globalConfig,
      GIT_DIR: other,
      GIT_WORK_TREE: path.join(base, "elsewhere"),
      GIT_INDEX_FILE: path.join(base, "evil-index"),
      GIT_TEMPLATE_DIR: path.join(base, "evil-template"),
      GIT_EXTERNAL_DIFF: evil,
      GIT_PAGER: evil,
      GIT_EDITOR: evil,
      GIT_ASKPASS: evil,
      EDITOR: evil,
      PAGER: evil,
    };
    mkdirSync(path.join(base, "evil-template", "hooks"), { recursive: true });
    writeFileSync(path.join(base, "evil-template", "hooks", "post-checkout"), readFileSync(path.join(hooks, "post-checkout")));
    chmodSync(path.join(base, "evil-template", "hooks", "post-checkout"), 0o755);
    const t = tree([], hostileEnv);
    for (const argv of [["fetch"], ["all"], ["status"], ["dist"]]) {
      const r = await xq(t, argv);
      expectOk(r);
      expectNothingRan();
    }
    // An edit, then status and all again: git status / diff run in the tree (fsmonitor would run there).
    writeFileSync(path.join(qemuRemote(t), "VERSION"), "edited\n");
    for (const argv of [["status"], ["all"]]) {
      expectOk(await xq(t, argv));
      expectNothingRan();
    }
    expect(head(qemuRemote(t))).toBe(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-1.16.0"]);
    expect(git(["remote", "get-url", "origin"], { cwd: qemuRemote(t) })).toBe(repos.qemuXen.url);
    expect(otherState()).toBe(before);
    expect(existsSync(path.join(base, "evil-index"))).toBe(false);
    expect(existsSync(path.join(base, "elsewhere"))).toBe(false);
  });
});

describe("a malformed .config", () => {
  it.each([
    ["CRLF line endings", Buffer.from(`QEMU_UPSTREAM_REVISION = qemu-xen-4.17.3\r\nSEABIOS_UPSTREAM_URL = ${"x"}\r\n`), /\.config:1 ends in a carriage return/],
    ["a NUL byte", Buffer.concat([Buffer.from("QEMU_UPSTREAM_REVISION = qemu"), Buffer.from([0]), Buffer.from("-xen-4.17.3\n")]), /\.config:1 contains a NUL byte/],
    ["a UTF-8 byte-order mark", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("QEMU_UPSTREAM_REVISION = qemu-xen-4.17.3\n")]), /\.config:1 starts with a UTF-8 byte-order mark/],
  ])("with %s: a clear error naming .config and the line, nothing run", async (_what, content, why) => {
    const t = tree();
    writeFileSync(path.join(t.root, ".config"), content);
    const r = await xq(t, ["all"]);
    expectNothingRan();
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr, { maxLines: 4 });
    expect(para).toMatch(why);
    expect(existsSync(qemuRemote(t))).toBe(false);
  });
});

describe("1 MB values", () => {
  const MB = 1024 * 1024;
  it.each([
    ["QEMU_UPSTREAM_URL", `git://127.0.0.1/${"a".repeat(MB)}.git`, /characters long/],
    ["SEABIOS_UPSTREAM_REVISION", "r".repeat(MB), /characters long/],
  ])("%s of 1 MB in .config: refused, the error short", async (variable, value, why) => {
    const t = tree([`${variable} = ${value}`]);
    const r = await xq(t, ["fetch"]);
    expectRefused(t, r, variable, /\.config:\d+/, why);
  });

  it("CONFIG_QEMUU_EXTRA_ARGS of 1 MB in .config: a clear error (the argument list is too long for configure), no stack", async () => {
    const t = tree([`CONFIG_QEMUU_EXTRA_ARGS = --extra=${"x".repeat(MB)}`]);
    const r = await xq(t, ["all", "qemu-xen"]);
    expectNothingRan();
    expect(r.code === 1 || r.code === 2, `exit ${r.code}`).toBe(true);
    const para = expectCleanError(r.stderr, { maxLines: 12, maxChars: 4000 });
    expect(para, "says what is too long").toMatch(/too long/i);
    expect(para, "names the variable or the command").toMatch(/CONFIG_QEMUU_EXTRA_ARGS|qemu-xen configure/);
  });

  it("a 1 MB variable in the xqbuild config file: a clear error, no stack", async () => {
    const t = tree();
    writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify({ variables: { QEMU_UPSTREAM_REVISION: "r".repeat(MB) } }));
    const r = await xq(t, ["fetch"]);
    expectNothingRan();
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr, { maxLines: 6, maxChars: 2000 });
    expect(para).toMatch(/QEMU_UPSTREAM_REVISION/);
  });

  it("a 1 MB extraConfigureArgs entry in the xqbuild config file: a clear error, no stack", async () => {
    const t = tree();
    writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify({ components: { "qemu-xen": { extraConfigureArgs: [`--x=${"y".repeat(MB)}`] } } }));
    const r = await xq(t, ["all", "qemu-xen"]);
    expectNothingRan();
    expect(r.code === 1 || r.code === 2, `exit ${r.code}`).toBe(true);
    const para = expectCleanError(r.stderr, { maxLines: 12, maxChars: 4000 });
    expect(para, "says what is too long").toMatch(/too long/i);
    expect(para, "names the setting or the command").toMatch(/extraConfigureArgs|qemu-xen configure/);
  });
});
