// Git helpers for tests: an environment isolated from the user's git configuration, and fake
// upstream repositories (made from fixtures/upstream/) that stand in for xenbits' qemu-xen, seabios and
// qemu-xen-traditional repositories.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** fixtures/upstream/ in this repository. */
export const FIXTURES_UPSTREAM = fileURLToPath(new URL("../../fixtures/upstream/", import.meta.url));

/** The shared recorder each fake upstream tree gets a copy of. */
const RECORDER = "_record.py";

/** Files of the fixture trees that are committed executable (everything else is 0644). */
const EXECUTABLES = new Set([
  RECORDER,
  "configure",
  "scripts/tracetool.py",
  "fake-qemu-system-i386.sh",
  "fake-ninja.py",
  "fake-meson.py",
  "xen-setup"
]);

export const FIXTURE_AUTHOR = { name: "Xqbuild Fixture", email: "fixture@xqbuild.invalid" } as const;

/**
 * An environment for running git (and programs that run git) isolated from the user's and the
 * system's git configuration: every inherited GIT_* variable is dropped, global and system config
 * are not read, and git never prompts.
 */
export function gitEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !key.startsWith("GIT_")) env[key] = value;
  }
  env.GIT_CONFIG_NOSYSTEM = "1";
  env.GIT_CONFIG_GLOBAL = "/dev/null";
  env.GIT_TERMINAL_PROMPT = "0";
  env.GIT_ASKPASS = "/bin/false";
  env.GIT_ADVICE = "0";
  // The fixture upstreams are fake trees that need none of the libraries real QEMU needs; the host
  // checks (xqbuild doctor) are tested on their own, and run for real in the e2e.
  env.XQBUILD_NO_DOCTOR = "1";
  return env;
}

/** Options always given to git by these helpers: deterministic, no gpg, no gc. */
const GIT_CONFIG_ARGS = [
  "-c", "init.defaultBranch=master",
  "-c", "commit.gpgsign=false",
  "-c", "tag.gpgsign=false",
  "-c", "gc.auto=0",
  "-c", "gc.autoDetach=false",
  "-c", "maintenance.auto=false",
  "-c", "core.autocrlf=false",
  "-c", "core.fileMode=true",
  "-c", `user.name=${FIXTURE_AUTHOR.name}`,
  "-c", `user.email=${FIXTURE_AUTHOR.email}`
];

export interface GitRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Run git (isolated environment, fixed config) and return its trimmed stdout. Throws on failure. */
export function git(args: readonly string[], opts: GitRunOptions = {}): string {
  const out = execFileSync("git", [...GIT_CONFIG_ARGS, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? gitEnv(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  });
  return out.trim();
}

/** A file:// URL for a local path (what Xen's glue needs: a plain path would be built in place). */
export function fileUrl(p: string): string {
  return pathToFileURL(path.resolve(p)).href;
}

export interface UpstreamRepo {
  /** "qemu-xen", "seabios" or "qemu-xen-traditional" */
  name: string;
  /** the bare repository, <baseDir>/<name>.git */
  path: string;
  /** file:// URL of path */
  url: string;
  /** tag or branch name -> commit id it points at (tags peeled) */
  refs: Record<string, string>;
}

export interface UpstreamRepos {
  baseDir: string;
  qemuXen: UpstreamRepo;
  seabios: UpstreamRepo;
  qemuTraditional: UpstreamRepo;
}

interface CommitSpec {
  /** a label for the commit (used by parents and refs) */
  id: string;
  parent?: string;
  message: string;
  /** files written over the fixture tree, path -> content */
  files: Record<string, string>;
}

interface RepoSpec {
  name: string;
  fixture: string;
  commits: CommitSpec[];
  /** ref name -> commit id label */
  tags: Record<string, string>;
  branches: Record<string, string>;
}

const REPOS: Record<"qemuXen" | "seabios" | "qemuTraditional", RepoSpec> = {
  qemuXen: {
    name: "qemu-xen",
    fixture: "qemu-xen",
    commits: [
      { id: "c1", message: "Fake qemu-xen 7.2.0", files: { VERSION: "7.2.0\n" } },
      { id: "c2", parent: "c1", message: "stable-4.17: fake backport", files: { VERSION: "7.2.1\n" } },
      { id: "c3", parent: "c1", message: "master: fake development", files: { VERSION: "7.2.50\n" } }
    ],
    tags: { "qemu-xen-4.17.3": "c1" },
    branches: { "stable-4.17": "c2", master: "c3" }
  },
  seabios: {
    name: "seabios",
    fixture: "seabios",
    commits: [
      { id: "c1", message: "Fake SeaBIOS 1.16.0", files: { VERSION: "1.16.0\n" } },
      { id: "c2", parent: "c1", message: "Fake SeaBIOS 1.16.2", files: { VERSION: "1.16.2\n" } },
      { id: "c3", parent: "c2", message: "master: fake development", files: { VERSION: "1.16.3-pre\n" } }
    ],
    tags: { "rel-1.16.0": "c1", "rel-1.16.2": "c2" },
    branches: { master: "c3" }
  },
  qemuTraditional: {
    name: "qemu-xen-traditional",
    fixture: "qemu-xen-traditional",
    commits: [
      { id: "c1", message: "Fake qemu-xen-traditional for Xen 4.17.3", files: { VERSION: "0.10.2\n" } },
      { id: "c2", parent: "c1", message: "stable-4.17: fake backport", files: { VERSION: "0.10.2-stable\n" } }
    ],
    tags: { "xen-4.17.3": "c1" },
    branches: { "stable-4.17": "c2", master: "c2" }
  }
};

/** Fixed dates, one day apart, so that commit ids are the same on every run and machine. */
function dateFor(index: number): string {
  const day = String(index + 1).padStart(2, "0");
  return `2023-03-${day}T12:00:00+00:00`;
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

/** Fill work with the fixture tree, its own copy of the recorder, and the commit's files. */
function populate(work: string, spec: RepoSpec, commit: CommitSpec): void {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.cpSync(path.join(FIXTURES_UPSTREAM, spec.fixture), work, { recursive: true });
  fs.copyFileSync(path.join(FIXTURES_UPSTREAM, RECORDER), path.join(work, RECORDER));
  for (const [rel, content] of Object.entries(commit.files)) {
    fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
    fs.writeFileSync(path.join(work, rel), content);
  }
  for (const rel of listFiles(work)) {
    fs.chmodSync(path.join(work, rel), EXECUTABLES.has(rel) ? 0o755 : 0o644);
  }
}

function buildRepo(baseDir: string, spec: RepoSpec): UpstreamRepo {
  const bare = path.join(baseDir, `${spec.name}.git`);
  const work = path.join(baseDir, `.work-${spec.name}`);
  const index = path.join(baseDir, `.index-${spec.name}`);
  fs.rmSync(bare, { recursive: true, force: true });
  git(["init", "-q", "--bare", bare]);
  const ids = new Map<string, string>();
  spec.commits.forEach((commit, i) => {
    const date = dateFor(i);
    const env = {
      ...gitEnv(),
      GIT_DIR: bare,
      GIT_WORK_TREE: work,
      GIT_INDEX_FILE: index,
      GIT_AUTHOR_NAME: FIXTURE_AUTHOR.name,
      GIT_AUTHOR_EMAIL: FIXTURE_AUTHOR.email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: FIXTURE_AUTHOR.name,
      GIT_COMMITTER_EMAIL: FIXTURE_AUTHOR.email,
      GIT_COMMITTER_DATE: date
    };
    populate(work, spec, commit);
    fs.rmSync(index, { force: true });
    git(["add", "-A", "."], { cwd: work, env });
    const tree = git(["write-tree"], { cwd: work, env });
    const parentArgs: string[] = [];
    if (commit.parent !== undefined) {
      const parent = ids.get(commit.parent);
      if (parent === undefined) throw new Error(`${spec.name}: unknown parent ${commit.parent}`);
      parentArgs.push("-p", parent);
    }
    const sha = git(["commit-tree", tree, ...parentArgs, "-m", commit.message], { cwd: work, env });
    ids.set(commit.id, sha);
  });
  const refs: Record<string, string> = {};
  const lastDate = dateFor(spec.commits.length);
  const tagEnv = {
    ...gitEnv(),
    GIT_DIR: bare,
    GIT_COMMITTER_NAME: FIXTURE_AUTHOR.name,
    GIT_COMMITTER_EMAIL: FIXTURE_AUTHOR.email,
    GIT_COMMITTER_DATE: lastDate
  };
  for (const [branch, label] of Object.entries(spec.branches)) {
    const sha = ids.get(label);
    if (sha === undefined) throw new Error(`${spec.name}: unknown commit ${label}`);
    git(["update-ref", `refs/heads/${branch}`, sha], { env: tagEnv });
    refs[branch] = sha;
  }
  for (const [tag, label] of Object.entries(spec.tags)) {
    const sha = ids.get(label);
    if (sha === undefined) throw new Error(`${spec.name}: unknown commit ${label}`);
    // annotated, like xenbits' release tags
    git(["tag", "-a", "-m", tag, tag, sha], { env: tagEnv });
    refs[tag] = sha;
  }
  git(["symbolic-ref", "HEAD", "refs/heads/master"], { env: tagEnv });
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(index, { force: true });
  return { name: spec.name, path: bare, url: fileUrl(bare), refs };
}

/**
 * Turn each fixture tree of fixtures/upstream/ into a bare git repository under baseDir
 * (<baseDir>/qemu-xen.git, seabios.git, qemu-xen-traditional.git), with deterministic commits and the
 * refs xenbits has:
 *   qemu-xen:             tag qemu-xen-4.17.3 (VERSION 7.2.0), branches stable-4.17 (7.2.1), master (7.2.50)
 *   seabios:              tags rel-1.16.0, rel-1.16.2, branch master (VERSION 1.16.3-pre)
 *   qemu-xen-traditional: tag xen-4.17.3 (VERSION 0.10.2), branches stable-4.17 and master (0.10.2-stable)
 * Every repository's HEAD is master. Each tree carries its own copy of _record.py.
 */
export function makeUpstreamRepos(baseDir: string): UpstreamRepos {
  fs.mkdirSync(baseDir, { recursive: true });
  const abs = path.resolve(baseDir);
  return {
    baseDir: abs,
    qemuXen: buildRepo(abs, REPOS.qemuXen),
    seabios: buildRepo(abs, REPOS.seabios),
    qemuTraditional: buildRepo(abs, REPOS.qemuTraditional)
  };
}
