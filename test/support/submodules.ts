// A fake qemu-xen superproject with QEMU's git submodules, for the tests of xqbuild's up-front
// submodule fetch. Every repository is a bare repository in one base directory, and the
// superproject's .gitmodules uses relative URLs (../meson.git), so one served directory works over
// file://, git:// and smart HTTP alike.
import fs from "node:fs";
import path from "node:path";
import { FIXTURE_AUTHOR, FIXTURES_UPSTREAM, fileUrl, git, gitEnv, type UpstreamRepo } from "./git.js";

export interface SubmoduleSpec {
  /** the submodule's name in .gitmodules (QEMU names them by path) */
  readonly name: string;
  /** where it is checked out in the superproject */
  readonly path: string;
  /** its repository: <baseDir>/<repo>.git, and the relative URL ../<repo>.git */
  readonly repo: string;
  /** a file the submodule holds (the fixture's configure looks for it) */
  readonly file: string;
}

/** The submodules QEMU 7.2's configure updates itself in a git checkout (xqbuild fetches them up front). */
export const QEMU_SUBMODULES: readonly SubmoduleSpec[] = [
  { name: "meson", path: "meson", repo: "meson", file: "meson.py" },
  { name: "ui/keycodemapdb", path: "ui/keycodemapdb", repo: "keycodemapdb", file: "tools/keymap-gen" },
  { name: "tests/fp/berkeley-softfloat-3", path: "tests/fp/berkeley-softfloat-3", repo: "berkeley-softfloat-3", file: "source/include/softfloat.h" },
  { name: "tests/fp/berkeley-testfloat-3", path: "tests/fp/berkeley-testfloat-3", repo: "berkeley-testfloat-3", file: "source/testfloat.h" },
  { name: "dtc", path: "dtc", repo: "dtc", file: "libfdt/libfdt.h" },
];

/** A submodule xqbuild must leave alone (QEMU's roms/* are big and not needed to build). */
export const EXTRA_SUBMODULE: SubmoduleSpec = { name: "roms/big", path: "roms/big", repo: "big", file: "big.bin" };

export interface FixtureSubmodule extends SubmoduleSpec {
  /** the bare repository */
  readonly bare: string;
  /** the commit the superproject records (not the repository's tip) */
  readonly commit: string;
  /** master, one commit after `commit` */
  readonly tip: string;
}

export interface SubmoduleUpstream {
  readonly baseDir: string;
  /** <baseDir>/qemu-xen.git; refs: tag qemu-xen-4.17.3 (with a parent commit), branch master one later */
  readonly superproject: UpstreamRepo;
  /** the five submodules xqbuild fetches */
  readonly submodules: readonly FixtureSubmodule[];
  /** roms/big */
  readonly extra: FixtureSubmodule;
}

const TAG = "qemu-xen-4.17.3";

interface FileSpec {
  content: string | Buffer;
  mode?: 0o644 | 0o755;
}

function dateFor(index: number): string {
  return `2023-04-${String(index + 1).padStart(2, "0")}T12:00:00+00:00`;
}

function envFor(bare: string, work: string, index: string, date: string): NodeJS.ProcessEnv {
  return {
    ...gitEnv(),
    GIT_DIR: bare,
    GIT_WORK_TREE: work,
    GIT_INDEX_FILE: index,
    GIT_AUTHOR_NAME: FIXTURE_AUTHOR.name,
    GIT_AUTHOR_EMAIL: FIXTURE_AUTHOR.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: FIXTURE_AUTHOR.name,
    GIT_COMMITTER_EMAIL: FIXTURE_AUTHOR.email,
    GIT_COMMITTER_DATE: date,
  };
}

/** One commit of exactly `files` (plus gitlinks), with a fixed date; returns its id. */
function commit(bare: string, spec: { files: Record<string, FileSpec>; gitlinks?: Record<string, string>; parent?: string; message: string; date: string }): string {
  const work = `${bare}.work`;
  const index = `${bare}.index`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(index, { force: true });
  for (const [rel, f] of Object.entries(spec.files)) {
    const file = path.join(work, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, f.content);
    fs.chmodSync(file, f.mode ?? 0o644);
  }
  const env = envFor(bare, work, index, spec.date);
  git(["add", "-A", "."], { cwd: work, env });
  for (const [p, sha] of Object.entries(spec.gitlinks ?? {})) {
    git(["update-index", "--add", "--cacheinfo", `160000,${sha},${p}`], { cwd: work, env });
  }
  const tree = git(["write-tree"], { cwd: work, env });
  const sha = git(["commit-tree", tree, ...(spec.parent ? ["-p", spec.parent] : []), "-m", spec.message], { cwd: work, env });
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(index, { force: true });
  return sha;
}

function initBare(bare: string): void {
  fs.rmSync(bare, { recursive: true, force: true });
  git(["init", "-q", "--bare", bare]);
}

function setRef(bare: string, ref: string, sha: string): void {
  git(["update-ref", ref, sha], { env: { ...gitEnv(), GIT_DIR: bare } });
}

function makeSubmoduleRepo(baseDir: string, spec: SubmoduleSpec, n: number): FixtureSubmodule {
  const bare = path.join(baseDir, `${spec.repo}.git`);
  initBare(bare);
  const big = spec === EXTRA_SUBMODULE;
  const files = (version: string): Record<string, FileSpec> => ({
    "README.fixture": { content: `Fake ${spec.repo} (xqbuild test fixture), version ${version}\n` },
    [spec.file]: big ? { content: Buffer.alloc(256 * 1024, version) } : { content: `/* fake ${spec.repo} ${version} */\n`, mode: spec.file.endsWith(".py") || spec.file.startsWith("tools/") ? 0o755 : 0o644 },
  });
  const first = commit(bare, { files: files("1.0"), message: `Fake ${spec.repo} 1.0`, date: dateFor(2 * n) });
  const tip = commit(bare, { files: files("1.1-dev"), parent: first, message: `Fake ${spec.repo} development`, date: dateFor(2 * n + 1) });
  setRef(bare, "refs/heads/master", tip);
  git(["symbolic-ref", "HEAD", "refs/heads/master"], { env: { ...gitEnv(), GIT_DIR: bare } });
  return { ...spec, bare, commit: first, tip };
}

/** The superproject's configure: the fixture's, refusing to run unless the submodules are there. */
function configureScript(submodules: readonly SubmoduleSpec[]): string {
  const original = fs.readFileSync(path.join(FIXTURES_UPSTREAM, "qemu-xen", "configure"), "utf8");
  const anchor = 'if os.environ.get("XQ_FAKE_CONFIGURE_FAIL"):';
  if (!original.includes(anchor)) throw new Error(`fixtures/upstream/qemu-xen/configure no longer has the line ${anchor}`);
  const needed = submodules.map((s) => `    ${JSON.stringify(`${s.path}/${s.file}`)},`).join("\n");
  const check = `# Like QEMU's configure in a git checkout, this one needs its submodules checked out; QEMU's would
# fetch them over the network here (scripts/git-submodule.sh). The argv is recorded above first.
NEEDED = [
${needed}
]
MISSING = [p for p in NEEDED if not os.path.isfile(os.path.join(SRC, p))]
if MISSING:
    sys.stderr.write("ERROR: submodules not checked out: %s\\n" % " ".join(MISSING))
    sys.exit(1)

`;
  return original.replace(anchor, check + anchor);
}

function listFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out;
}

/**
 * Builds under baseDir: qemu-xen.git (the superproject: the files of fixtures/upstream/qemu-xen and
 * _record.py, a configure that fails unless the five submodules are checked out, .gitmodules with
 * relative URLs, gitlinks to each submodule's first commit), and meson.git, keycodemapdb.git,
 * berkeley-softfloat-3.git, berkeley-testfloat-3.git, dtc.git and big.git (roms/big), each with two
 * commits. Commit ids are the same on every run.
 */
export function makeSubmoduleUpstream(baseDir: string): SubmoduleUpstream {
  const base = path.resolve(baseDir);
  fs.mkdirSync(base, { recursive: true });
  const all = [...QEMU_SUBMODULES, EXTRA_SUBMODULE];
  const subs = all.map((s, i) => makeSubmoduleRepo(base, s, i));

  const fixture = path.join(FIXTURES_UPSTREAM, "qemu-xen");
  const files: Record<string, FileSpec> = {};
  for (const rel of listFiles(fixture)) {
    const mode = (fs.statSync(path.join(fixture, rel)).mode & 0o111) !== 0 ? 0o755 : 0o644;
    files[rel] = { content: fs.readFileSync(path.join(fixture, rel)), mode };
  }
  files["_record.py"] = { content: fs.readFileSync(path.join(FIXTURES_UPSTREAM, "_record.py")), mode: 0o755 };
  files.configure = { content: configureScript(QEMU_SUBMODULES), mode: 0o755 };
  files[".gitmodules"] = {
    content: all.map((s) => `[submodule "${s.name}"]\n\tpath = ${s.path}\n\turl = ../${s.repo}.git\n`).join(""),
  };
  const gitlinks = Object.fromEntries(subs.map((s) => [s.path, s.commit]));

  const bare = path.join(base, "qemu-xen.git");
  initBare(bare);
  const d = 2 * all.length;
  const c1 = commit(bare, { files: { ...files, VERSION: { content: "7.2.0-rc0\n" } }, gitlinks, message: "Fake qemu-xen 7.2.0-rc0 with submodules", date: dateFor(d) });
  const c2 = commit(bare, { files: { ...files, VERSION: { content: "7.2.0\n" } }, gitlinks, parent: c1, message: "Fake qemu-xen 7.2.0 with submodules", date: dateFor(d + 1) });
  const c3 = commit(bare, { files: { ...files, VERSION: { content: "7.2.50\n" } }, gitlinks, parent: c2, message: "master: fake development", date: dateFor(d + 2) });
  setRef(bare, "refs/heads/master", c3);
  const tagEnv = { ...gitEnv(), GIT_DIR: bare, GIT_COMMITTER_NAME: FIXTURE_AUTHOR.name, GIT_COMMITTER_EMAIL: FIXTURE_AUTHOR.email, GIT_COMMITTER_DATE: dateFor(d + 3) };
  git(["tag", "-a", "-m", TAG, TAG, c2], { env: tagEnv });
  git(["symbolic-ref", "HEAD", "refs/heads/master"], { env: tagEnv });

  const extra = subs[subs.length - 1] as FixtureSubmodule;
  return {
    baseDir: base,
    superproject: { name: "qemu-xen", path: bare, url: fileUrl(bare), refs: { [TAG]: c2, master: c3 } },
    submodules: subs.slice(0, -1),
    extra,
  };
}
