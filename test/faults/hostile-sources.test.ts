// Fault 8: hostile sources. A fetched tree that carries xqbuild config files (xqbuild.config.js,
// .xqbuildrc*, package.json#xqbuild), Xen-tree look-alike files (Config.mk, xen/Makefile,
// tools/Makefile), .gitattributes asking for filters, and whose .git/config is then given
// core.hooksPath / core.fsmonitor and hooks; a superproject whose .gitmodules points QEMU's
// submodules at ext::, --upload-pack= and ssh://-oProxyCommand=; a tarball that carries .git/.
// fetch, all, status, dist, clean, update (and commands run from inside the fetched tree) must
// never run any of it: an injected command would create a marker file.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FIXTURES_UPSTREAM, fileUrl, git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { builtCli, expectCleanError, expectOk, makeTree, qemuRemote, removeBases, runCli, seabiosRemote, tempBase, urlLines, xq, type Tree } from "./support.js";

let base: string;
let repos: UpstreamRepos;
let marker: string;
let evil: string;
let hostileSeabios: string;
let hostileQemu: string;

/** A bare repository with one commit of the files of `work`, tagged. */
function commitTree(work: string, bare: string, tag: string): string {
  const env = { ...gitEnv(), GIT_AUTHOR_DATE: "2023-05-01T12:00:00Z", GIT_COMMITTER_DATE: "2023-05-01T12:00:00Z" };
  if (!existsSync(path.join(work, ".git"))) git(["init", "-q", work], { env });
  git(["add", "-A", "."], { cwd: work, env });
  git(["commit", "-q", "--no-verify", "--allow-empty", "-m", tag], { cwd: work, env });
  git(["tag", "-f", tag], { cwd: work, env });
  if (!existsSync(bare)) git(["init", "-q", "--bare", bare], { env });
  git(["push", "-q", "-f", bare, `refs/tags/${tag}`, "HEAD:refs/heads/master"], { cwd: work, env });
  return git(["rev-parse", "HEAD"], { cwd: work, env });
}

const js = (what: string): string => `require("node:fs").appendFileSync(${JSON.stringify("MARKER")}, ${JSON.stringify(what + "\n")});\nmodule.exports = {};\n`;

beforeAll(() => {
  builtCli();
  base = tempBase("hostile-src");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
  marker = path.join(base, "MARKER-hostile-source-code-ran");
  evil = path.join(base, "evil.sh");
  writeFileSync(evil, `#!/bin/sh\necho "evil.sh $*" >> ${marker}\ncat\n`);
  chmodSync(evil, 0o755);
  const m = (text: string): string => text.replace(/MARKER/g, marker);

  // SeaBIOS whose tree holds every kind of xqbuild configuration and looks like a Xen tree.
  const work = path.join(base, "work-seabios");
  mkdirSync(path.join(work, "xen"), { recursive: true });
  mkdirSync(path.join(work, "tools"), { recursive: true });
  for (const f of ["Makefile", "VERSION"]) writeFileSync(path.join(work, f), readFileSync(path.join(FIXTURES_UPSTREAM, "seabios", f)));
  writeFileSync(path.join(work, "_record.py"), readFileSync(path.join(FIXTURES_UPSTREAM, "_record.py")));
  writeFileSync(path.join(work, "xqbuild.config.js"), m(`import fs from "node:fs";\nfs.appendFileSync("MARKER", "xqbuild.config.js\\n");\nexport default {};\n`));
  writeFileSync(path.join(work, "xqbuild.config.cjs"), m(js("xqbuild.config.cjs")));
  writeFileSync(path.join(work, "xqbuild.config.mjs"), m(`import fs from "node:fs";\nfs.appendFileSync("MARKER", "xqbuild.config.mjs\\n");\nexport default {};\n`));
  writeFileSync(path.join(work, ".xqbuildrc.js"), m(js(".xqbuildrc.js")));
  writeFileSync(path.join(work, ".xqbuildrc.cjs"), m(js(".xqbuildrc.cjs")));
  writeFileSync(path.join(work, ".xqbuildrc"), JSON.stringify({ cacheDir: path.join(base, "evil-cache"), mirrors: { "file://": `ext::${evil}` } }));
  writeFileSync(path.join(work, "package.json"), JSON.stringify({ name: "seabios-fixture", xqbuild: { cacheDir: path.join(base, "evil-cache") } }));
  writeFileSync(path.join(work, "Config.mk"), m(`$(shell echo Config.mk >> MARKER)\nXEN_ROOT ?= $(CURDIR)\n`));
  writeFileSync(path.join(work, "xen", "Makefile"), m(`export XEN_VERSION = 4\nexport XEN_SUBVERSION = 17\n$(shell echo xen/Makefile >> MARKER)\n`));
  writeFileSync(path.join(work, "tools", "Makefile"), m(`$(shell echo tools/Makefile >> MARKER)\nall:\n`));
  writeFileSync(path.join(work, ".gitattributes"), "* filter=xqevil diff=xqevil\n");
  hostileSeabios = path.join(base, "upstream", "hostile-seabios.git");
  commitTree(work, hostileSeabios, "rel-1.16.0");
  writeFileSync(path.join(work, "VERSION"), "1.16.2\n");
  commitTree(work, hostileSeabios, "rel-1.16.2");

  // qemu-xen whose .gitmodules sends QEMU's submodules to hostile URLs (one tag per URL).
  const qwork = path.join(base, "work-qemu");
  execFileSync("cp", ["-a", `${path.join(FIXTURES_UPSTREAM, "qemu-xen")}/.`, qwork]);
  writeFileSync(path.join(qwork, "_record.py"), readFileSync(path.join(FIXTURES_UPSTREAM, "_record.py")));
  hostileQemu = path.join(base, "upstream", "hostile-qemu.git");
  const subWork = path.join(base, "work-sub");
  mkdirSync(subWork, { recursive: true });
  writeFileSync(path.join(subWork, "meson.py"), "# fake meson\n");
  const sub = commitTree(subWork, path.join(base, "upstream", "sub.git"), "sub");
  for (const [tag, url] of [
    ["evil-ext", `ext::sh -c ${evil}% >&2`],
    ["evil-upload-pack", `--upload-pack=${evil}`],
    ["evil-ssh", `ssh://-oProxyCommand=${evil}/meson.git`],
    ["evil-local-path", `-u${evil}`],
  ] as const) {
    writeFileSync(path.join(qwork, ".gitmodules"), `[submodule "meson"]\n\tpath = meson\n\turl = ${url}\n`);
    if (!existsSync(path.join(qwork, ".git"))) git(["init", "-q", qwork]);
    mkdirSync(path.join(qwork, "meson"), { recursive: true }); // an unpopulated submodule: `git add -A` keeps its gitlink
    git(["update-index", "--add", "--cacheinfo", `160000,${sub},meson`], { cwd: qwork });
    commitTree(qwork, hostileQemu, tag);
  }
});
afterAll(removeBases);
// Each case starts without the marker: one case's finding does not fail the next.
beforeEach(() => rmSync(marker, { force: true }));

function expectNothingRan(): void {
  expect(existsSync(marker) ? readFileSync(marker, "utf8") : "", "hostile code from a fetched source ran").toBe("");
}

describe("a fetched SeaBIOS carrying config files, Xen look-alike makefiles and .gitattributes filters", () => {
  let t: Tree;
  beforeAll(async () => {
    t = makeTree(base, "xen", { config: urlLines({ qemu: repos.qemuXen.url, seabios: fileUrl(hostileSeabios) }) });
    expectOk(await xq(t, ["fetch"]));
    expectNothingRan();
    // Then .git/config gains hooks, an fsmonitor and the filter drivers .gitattributes names.
    const s = seabiosRemote(t);
    const hooks = path.join(base, "hooks");
    mkdirSync(hooks, { recursive: true });
    for (const h of ["post-checkout", "post-commit", "pre-commit", "reference-transaction", "post-merge", "post-rewrite", "pre-auto-gc"]) {
      for (const dir of [hooks, path.join(s, ".git", "hooks")]) {
        writeFileSync(path.join(dir, h), `#!/bin/sh\necho "hook ${h}" >> ${marker}\n`);
        chmodSync(path.join(dir, h), 0o755);
      }
    }
    git(["config", "core.hooksPath", hooks], { cwd: s });
    git(["config", "core.fsmonitor", evil], { cwd: s });
    git(["config", "core.sshCommand", evil], { cwd: s });
    git(["config", "diff.external", evil], { cwd: s });
    git(["config", "core.pager", evil], { cwd: s });
  });

  it.each([
    ["fetch", ["fetch"]],
    ["all", ["all"]],
    ["status", ["status"]],
    ["status --json", ["status", "--json"]],
    ["dist", ["dist"]],
    ["plan", ["plan"]],
    ["config", ["config"]],
    ["clean", ["clean"]],
  ])("%s: nothing of the fetched tree runs", async (_what, argv) => {
    const r = await xq(t, argv);
    expectOk(r);
    expectNothingRan();
  });

  it("an edit, then status and all (git status / diff run there): nothing runs", async () => {
    writeFileSync(path.join(seabiosRemote(t), "VERSION"), "1.16.0 edited\n");
    expectOk(await xq(t, ["status"]));
    expectOk(await xq(t, ["all"]));
    expectNothingRan();
    writeFileSync(path.join(seabiosRemote(t), "VERSION"), "1.16.0\n");
  });

  it("a move to another revision (checkout, hooks would fire): nothing runs", async () => {
    const r = await xq(t, ["fetch", "seabios", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]);
    expectOk(r);
    expect(readFileSync(path.join(seabiosRemote(t), "VERSION"), "utf8")).toBe("1.16.2\n");
    expectNothingRan();
    expectOk(await xq(t, ["update", "--force", "seabios", "SEABIOS_UPSTREAM_REVISION=rel-1.16.0"]));
    expectNothingRan();
  });

  it.each([
    ["status --json", ["status", "--json"]],
    ["config", ["config"]],
    ["fetch", ["fetch"]],
  ])("%s run from inside the fetched tree (no -C) finds the real Xen tree, not the look-alike, and runs nothing of it", async (_what, argv) => {
    const r = await runCli(argv, { cwd: path.join(t.root, "tools", "firmware", "seabios-dir"), env: t.env });
    expectNothingRan();
    expectOk(r);
    if (argv[1] === "--json") expect((JSON.parse(r.stdout) as { xenRoot: string }).xenRoot).toBe(t.root);
  });
});

describe("QEMU's submodules pointed at hostile URLs by the fetched .gitmodules", () => {
  it.each(["evil-ext", "evil-upload-pack", "evil-ssh", "evil-local-path"])("%s: nothing runs, a clear error, no partial tree", async (tag) => {
    const t = makeTree(base, `sub-${tag}`, { config: [...urlLines({ qemu: fileUrl(hostileQemu) }), `QEMU_UPSTREAM_REVISION = ${tag}`] });
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expectNothingRan();
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr, { maxLines: 10 });
    expect(para, "names the submodule and where its URL came from").toMatch(/meson/);
    expect(para, "names the submodule and where its URL came from").toMatch(/\.gitmodules/);
    expect(existsSync(qemuRemote(t))).toBe(false);
    expect(existsSync(`${qemuRemote(t)}.xqbuild-tmp`)).toBe(false);
  });
});

describe("a tarball carrying .git/ (config with fsmonitor, filters, hooks)", () => {
  it("is refused (or its .git/ ignored): nothing runs", async () => {
    const dir = path.join(base, "tar-src");
    const pkg = path.join(dir, "seabios-1.16.0");
    mkdirSync(path.join(pkg, ".git", "hooks"), { recursive: true });
    writeFileSync(path.join(pkg, "Makefile"), "all:\n\t@true\nolddefconfig:\n\t@true\n");
    writeFileSync(path.join(pkg, ".gitattributes"), "* filter=xqevil diff=xqevil\n");
    writeFileSync(path.join(pkg, ".git", "config"), `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = ${evil}\n\thooksPath = .git/hooks\n[filter "xqevil"]\n\tclean = ${evil} clean\n\tsmudge = ${evil} smudge\n[diff "xqevil"]\n\ttextconv = ${evil}\n`);
    writeFileSync(path.join(pkg, ".git", "HEAD"), "ref: refs/heads/master\n");
    for (const h of ["pre-commit", "post-commit", "post-checkout", "reference-transaction"]) {
      writeFileSync(path.join(pkg, ".git", "hooks", h), `#!/bin/sh\necho "tarball hook ${h}" >> ${marker}\n`);
      chmodSync(path.join(pkg, ".git", "hooks", h), 0o755);
    }
    const tarball = path.join(base, "seabios-with-git.tar.gz");
    execFileSync("tar", ["-czf", tarball, "-C", dir, "seabios-1.16.0"]);
    const sha = createHash("sha256").update(readFileSync(tarball)).digest("hex");
    const t = makeTree(base, "tar-git", { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = ${tarball}`, `SEABIOS_UPSTREAM_SHA256 = ${sha}`] });
    const r = await xq(t, ["fetch", "seabios"]);
    expectNothingRan();
    if (r.code === 0) {
      // Accepted: then the tarball's .git/ must not be the checkout's repository.
      expect(readFileSync(path.join(seabiosRemote(t), ".git", "config"), "utf8")).not.toMatch(/xqevil|fsmonitor/);
      expectOk(await xq(t, ["status"]));
      expectNothingRan();
    } else {
      expect(r.code).toBe(1);
      expectCleanError(r.stderr);
      expect(r.stderr).toMatch(/\.git/);
    }
  });
});
