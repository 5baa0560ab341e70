import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ComponentName } from "../components/names.js";
import { isArmoredKey, type Settings, type VerifySettings } from "../config/settings.js";
import { FailureError, UserError } from "../util/errors.js";
import { inputFileReason, readInputFileSync } from "../util/fs.js";
import { collect, definedOnly, requireTool } from "../util/proc.js";
import { withoutCredentials } from "../util/redact.js";
import { gitAt, gitEnvironment, SAFE_CONFIG } from "./git.js";
import { LOCK_FILE, type LockEntry } from "./lockfile.js";
import { ensureRevision, type MirrorOptions } from "./mirror.js";

/*
 * Signed tags (the verify setting). The wanted revision must be a tag whose signature `git
 * verify-tag` accepts through gpgv against a keyring xqbuild builds, in a private temporary
 * directory, from exactly the configured keys: the user's own keyring (GNUPGHOME) and gpg's key
 * servers never take part, so that what "trusted" means is what the config file says, on every
 * machine. Everything here runs before the checkout: a refusal leaves the tree as it was.
 */

/** A verified tag: what the lock file records and the messages name. */
export interface VerifiedTag {
  readonly tag: string;
  readonly tagObject: string;
  readonly commit: string;
  /** The fingerprint of the primary key whose (sub)key made the signature. */
  readonly signer: string;
  readonly uid?: string;
}

/** The verify setting that applies to one component, and the key under which the config file holds it (for messages). */
export interface VerifyPolicy {
  readonly settings: VerifySettings;
  /** "verify" or "components.seabios.verify". */
  readonly key: string;
  /** The config file's name, for hints. */
  readonly file?: string;
}

/** The component's own verify (false: none), else the global one. */
export function verifyPolicyOf(settings: Settings, component: ComponentName, file?: string): VerifyPolicy | undefined {
  const own = settings.components?.[component]?.verify;
  if (own === false) return undefined;
  const of = file !== undefined ? { file } : {};
  if (own !== undefined) return { settings: own, key: `components.${component}.verify`, ...of };
  return settings.verify ? { settings: settings.verify, key: "verify", ...of } : undefined;
}

interface KeyInfo {
  /** The primary key's fingerprint (upper-case hex, as gpg prints it). */
  readonly fingerprint: string;
  readonly uid?: string;
  /** The long key ids (last 16 hex digits) of the primary key and its subkeys. */
  readonly keyIds: readonly string[];
}

interface Keyring {
  readonly dir: string;
  readonly file: string;
  readonly keys: readonly KeyInfo[];
  readonly env: Record<string, string>;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/** gpg's environment: the caller's, but with a home of xqbuild's own (never the user's GNUPGHOME), in English. */
function gpgEnvironment(env: Readonly<Record<string, string | undefined>>, home: string): Record<string, string> {
  const out = definedOnly(env);
  delete out.GNUPGHOME;
  out.GNUPGHOME = home;
  out.LC_ALL = "C";
  return out;
}

/** Options for every gpg run: the private home and keyring only, no agent, no key server, no prompt. */
function gpgArgs(ring: { dir: string; file: string }): string[] {
  return ["--homedir", ring.dir, "--batch", "--no-tty", "--no-autostart", "--no-default-keyring", "--keyring", ring.file, "--no-auto-key-retrieve", "--no-auto-key-locate"];
}

/** The keys of a keyring, from gpg's --with-colons listing (pub/sub lines, then fpr and uid lines). */
function parseKeys(colons: string): KeyInfo[] {
  const keys: { fingerprint: string; uid?: string; keyIds: string[] }[] = [];
  let last: "pub" | "sub" | undefined;
  for (const line of colons.split("\n")) {
    const f = line.split(":");
    if (f[0] === "pub") {
      keys.push({ fingerprint: "", keyIds: [f[4] ?? ""] });
      last = "pub";
    } else if (f[0] === "sub") {
      keys.at(-1)?.keyIds.push(f[4] ?? "");
      last = "sub";
    } else if (f[0] === "fpr" && last === "pub") {
      const k = keys.at(-1);
      if (k && k.fingerprint === "") k.fingerprint = f[9] ?? "";
      last = undefined;
    } else if (f[0] === "uid") {
      const k = keys.at(-1);
      const uid = f[9];
      if (k && k.uid === undefined && uid) k.uid = uid.replace(/\\x3a/g, ":");
    }
  }
  return keys.filter((k) => k.fingerprint !== "");
}

/**
 * The keyring of the policy, built in a fresh private directory (mode 0700 from mkdtemp): the
 * configured keyring file copied there (gpg takes locks and writes next to the file it uses), or
 * the configured keys imported into a new one.
 */
async function buildKeyring(policy: VerifyPolicy, env: Readonly<Record<string, string | undefined>>, signal?: AbortSignal): Promise<Keyring> {
  requireTool("gpg", env, "to read the keys of the verify setting");
  requireTool("gpgv", env, "to check signed tags (the verify setting)");
  const dir = await mkdtemp(path.join(tmpdir(), "xqbuild-verify-"));
  const ring = { dir, file: path.join(dir, "keyring.kbx") };
  const genv = gpgEnvironment(env, dir);
  const gpg = (args: string[]) => collect("gpg", [...gpgArgs(ring), ...args], { cwd: dir, env: genv, ...(signal ? { signal } : {}) });
  const where = policy.file ? ` in ${policy.file}` : "";
  try {
    const s = policy.settings;
    if (s.keyring !== undefined) {
      ring.file = path.join(dir, "keyring");
      let bytes: Buffer;
      try {
        // Not copyFile: a FIFO there would block the process for ever, /dev/zero never end.
        bytes = readInputFileSync(s.keyring);
      } catch (e) {
        throw new UserError(`${policy.key}.keyring${where}: cannot read the keyring ${s.keyring}: ${inputFileReason(e)}.`, "Point it at an existing keyring file (gpg --export KEY > FILE makes one).");
      }
      await writeFile(ring.file, bytes, { mode: 0o600 });
    } else {
      let i = 0;
      for (const k of s.keys ?? []) {
        i += 1;
        const what = isArmoredKey(k) ? `key ${i} (written inline)` : `key ${i} (${k})`;
        let text: string;
        try {
          text = isArmoredKey(k) ? k : readInputFileSync(k).toString("utf8");
        } catch (e) {
          throw new UserError(`${policy.key}.keys${where}: cannot read ${what}: ${inputFileReason(e)}.`, "Name an existing file holding an armored public key (gpg --armor --export KEY), or write the key inline.");
        }
        const file = path.join(dir, `key-${i}.asc`);
        await writeFile(file, text);
        const r = await gpg(["--quiet", "--import", "--import-options", "import-minimal", file]);
        if (r.code !== 0) {
          throw new UserError(`${policy.key}.keys${where}: ${what} is not an OpenPGP public key gpg can import: ${firstLine(r.stderr)}.`, "Give the armored public key (gpg --armor --export FINGERPRINT), as it begins with -----BEGIN PGP PUBLIC KEY BLOCK-----.");
        }
      }
    }
    const listed = await gpg(["--with-colons", "--fixed-list-mode", "--list-keys"]);
    const keys = listed.code === 0 ? parseKeys(listed.stdout) : [];
    if (keys.length === 0) {
      throw new UserError(`${policy.key}${where}: ${s.keyring !== undefined ? `the keyring ${s.keyring} holds` : "the keys give"} no OpenPGP public key${listed.code === 0 ? "" : ` (gpg: ${firstLine(listed.stderr)})`}.`, "Give the public keys whose signatures are trusted (gpg --armor --export FINGERPRINT).");
    }
    return { dir, file: ring.file, keys, env: genv };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function firstLine(text: string): string {
  const lines = text.split("\n").map((l) => l.replace(/^gpg: /, "").trim()).filter((l) => l !== "" && !/^(no gpg-agent|keybox .* created|.*trustdb created)/.test(l));
  return lines[0] ?? "gpg failed";
}

/** The program git runs as gpg: gpgv on the private keyring, without the options only gpg knows. */
function wrapperScript(ring: Keyring): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    "#!/bin/sh",
    "# Written by xqbuild: git verify-tag runs PROGRAM --keyid-format=long --status-fd=1 --verify SIG -;",
    "# gpgv checks the signature against this keyring only, and knows neither of the other options.",
    'for a; do shift; case "$a" in --verify|--keyid-format=*) ;; *) set -- "$@" "$a" ;; esac; done',
    `exec gpgv --homedir ${q(ring.dir)} --keyring ${q(ring.file)} "$@"`,
    "",
  ].join("\n");
}

/** What gpgv's status lines say about a tag's signature. */
type Verdict =
  | { readonly ok: true; readonly fingerprint: string; readonly uid?: string }
  | { readonly ok: false; readonly why: string; readonly signer?: string; readonly hint?: string };

const OTHER_KEY = "If that key is one you trust for this source, add its public key to the keys; else do not use this tag.";
const TAMPERED = "Do not use this tag: fetch it again from the real upstream (check the URL and any mirror).";

function verdictOf(status: string, code: number | null, ring: Keyring): Verdict {
  const lines = status.split("\n").filter((l) => l.startsWith("[GNUPG:] ")).map((l) => l.slice(9).split(" "));
  const line = (kw: string) => lines.find((l) => l[0] === kw);
  const byKeyId = (id: string | undefined) => ring.keys.find((k) => id !== undefined && k.keyIds.includes(id.toUpperCase()));
  const named = (id: string | undefined, fpr?: string): string => {
    const k = byKeyId(id);
    if (k) return `${k.fingerprint}${k.uid ? ` (${k.uid})` : ""}`;
    return fpr ? fpr : `key id ${id ?? "?"}`;
  };
  const good = line("GOODSIG");
  const valid = line("VALIDSIG");
  if (code === 0 && good && valid) {
    // VALIDSIG <fpr> <date> <ts> <expire> <version> <reserved> <pkalgo> <hashalgo> <class> <primary fpr>
    const primary = valid[10] ?? valid[1] ?? "";
    const key = ring.keys.find((k) => k.fingerprint === primary);
    if (key) return { ok: true, fingerprint: key.fingerprint, ...(key.uid ? { uid: key.uid } : {}) };
    return { ok: false, why: "is signed by a key that is not one of the allowed keys", signer: primary, hint: OTHER_KEY };
  }
  const bad = line("BADSIG");
  if (bad) return { ok: false, why: "has a BAD signature: the tag object was changed after it was signed", signer: named(bad[1]), hint: TAMPERED };
  const expKey = line("EXPKEYSIG");
  if (expKey) return { ok: false, why: "is signed by a key that has expired", signer: named(expKey[1]), hint: "Give the key as it is now (upstream may have extended it: gpg --armor --export FINGERPRINT)." };
  const revKey = line("REVKEYSIG");
  if (revKey) return { ok: false, why: "is signed by a key that has been revoked", signer: named(revKey[1]), hint: "Do not use this tag; ask upstream which key signs its releases now." };
  const expSig = line("EXPSIG");
  if (expSig) return { ok: false, why: "has a signature that has expired", signer: named(expSig[1]), hint: "Ask upstream for a tag signed again." };
  const err = line("ERRSIG");
  if (err) {
    // ERRSIG <keyid> <pkalgo> <hashalgo> <class> <time> <rc> [<fpr>]; rc 9: no public key.
    const fpr = err[7];
    const signer = fpr ? fpr : `key id ${err[1] ?? "?"}`;
    if (err[6] === "9" || line("NO_PUBKEY")) return { ok: false, why: "is signed by another key, not one of the allowed keys", signer, hint: OTHER_KEY };
    return { ok: false, why: `has a signature gpgv cannot check (error ${err[6] ?? "?"})`, signer, hint: TAMPERED };
  }
  return { ok: false, why: `could not be verified: ${firstLine(status.split("\n").filter((l) => !l.startsWith("[GNUPG:] ")).join("\n")) || "gpgv said nothing"}` };
}

/** The headers of a tag object: object, type, tag, tagger. */
function tagHeaders(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of text.split("\n")) {
    if (l === "") break;
    const sp = l.indexOf(" ");
    if (sp > 0 && !out.has(l.slice(0, sp))) out.set(l.slice(0, sp), l.slice(sp + 1));
  }
  return out;
}

export interface VerifyRequest {
  readonly component: string;
  readonly url: string;
  readonly revision: string;
  /** Where the revision was set ("QEMU_UPSTREAM_REVISION at .config:2"). */
  readonly revisionFrom: string;
  readonly policy: VerifyPolicy;
  /** The lock entry that pins this URL and revision, if any: the tag must still be the object it recorded. */
  readonly pinned?: LockEntry;
  /** --update-lock: a tag that is now another object is taken (its signature checked again). */
  readonly acceptMoved: boolean;
  /** update / --update-lock: ask the server for the tag again (a moved tag is seen). */
  readonly refresh: boolean;
  /** The recipe's fullHistory: the mirror is not shallow. */
  readonly fullHistory?: boolean;
}

/**
 * Checks that the wanted revision is a tag signed by one of the policy's keys, and (when the lock
 * file pins it) that it is still the tag object the lock recorded. Returns the verified tag, or
 * undefined for a revision the policy's `allow` takes unsigned. Throws a UserError naming the tag,
 * the signer and the allowed fingerprints otherwise; nothing in the tree has been touched.
 */
export async function verifyRevision(req: VerifyRequest, opts: MirrorOptions): Promise<VerifiedTag | undefined> {
  if (req.policy.settings.allow?.includes(req.revision)) return undefined;
  const ring = await buildKeyring(req.policy, opts.env, opts.signal);
  try {
    const allowed = ring.keys.map((k) => k.fingerprint).join(", ");
    // Every refusal names the signer (none, for what carries no signature) and the keys that are allowed.
    const refuse = (what: string, hint: string, signer: string): UserError =>
      new FailureError(
        `${req.component}: ${what}; signer: ${signer}; ${req.policy.key}${req.policy.file ? ` in ${req.policy.file}` : ""} allows only tags signed by ${ring.keys.length === 1 ? "the key" : "the keys"} ${allowed}.`,
        `${hint} Nothing was checked out: the tree was left as it was.`,
      );
    const allowHint = (name: string) => `Set the revision (${req.revisionFrom}) to a signed release tag, or list ${JSON.stringify(name)} in ${req.policy.key}.allow to take it unsigned.`;
    if (FULL_SHA.test(req.revision)) throw refuse(`the revision ${req.revision} (${req.revisionFrom}) is a commit, not a signed tag`, allowHint(req.revision), "none (a commit carries no signature)");
    const mirrorOpts: MirrorOptions = { ...opts, ...(req.fullHistory ? { shallow: false } : {}), ...(req.refresh ? { refreshTags: true } : {}) };
    const resolved = await ensureRevision(req.url, req.revision, mirrorOpts, req.revisionFrom);
    const shownUrl = withoutCredentials(req.url);
    if (resolved.kind !== "tag") throw refuse(`${req.revision} (${req.revisionFrom}) is a ${resolved.kind} of ${shownUrl}, not a signed tag`, allowHint(req.revision), `none (a ${resolved.kind} carries no signature)`);
    const git = gitAt(resolved.mirrorDir, opts);
    const tagObject = (await git.raw(["rev-parse", "--verify", "--end-of-options", `refs/tags/${req.revision}`])).trim();
    const type = (await git.raw(["cat-file", "-t", tagObject])).trim();
    // Where the revision was set (.config:2, xqbuild.lock) is named with it, in every refusal below.
    const tagName = `the tag ${req.revision} (${req.revisionFrom}) of ${shownUrl}`;
    const signHint = "Ask upstream for a signed release tag, or check that the URL is the real upstream.";
    const pin = req.pinned;
    // A tag that is now another object than the lock recorded is said as such whatever else is wrong with it.
    const moved = pin?.tagObject !== undefined && pin.tagObject !== tagObject && !req.acceptMoved ? ` (and it has moved: ${LOCK_FILE} recorded the tag object ${pin.tagObject}${pin.signer ? `, signed by ${pin.signer}` : ""})` : "";
    if (type !== "tag") throw refuse(`${tagName} is unsigned (a lightweight tag: no tag object, no signature)${moved}`, signHint, "none");
    const body = await git.raw(["cat-file", "tag", tagObject]);
    if (!body.includes("\n-----BEGIN PGP SIGNATURE-----\n")) {
      throw refuse(`${tagName} is unsigned (tag object ${tagObject} carries no OpenPGP signature${body.includes("-----BEGIN SSH SIGNATURE-----") ? "; it has an SSH signature, which verify does not take" : ""})${moved}`, signHint, "none");
    }
    const wrapper = path.join(ring.dir, "gpgv-for-git");
    await writeFile(wrapper, wrapperScript(ring), { mode: 0o700 });
    // git's own configuration and the user's (gpg.program, gpg.minTrustLevel) have no say here.
    const env = { ...gitEnvironment(opts.env), GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", GNUPGHOME: ring.dir };
    const config = [...SAFE_CONFIG, "gpg.format=openpgp", `gpg.openpgp.program=${wrapper}`, `gpg.program=${wrapper}`].flatMap((c) => ["-c", c]);
    const r = await collect(opts.git ?? "git", [...config, "verify-tag", "--raw", tagObject], { cwd: resolved.mirrorDir, env, ...(opts.signal ? { signal: opts.signal } : {}) });
    const verdict = verdictOf(r.stderr, r.code, ring);
    if (!verdict.ok) throw refuse(`${tagName} (tag object ${tagObject}) ${verdict.why}${moved}`, verdict.hint ?? signHint, verdict.signer ?? "unknown (gpgv named no key)");
    const signer = `${verdict.fingerprint}${verdict.uid ? ` (${verdict.uid})` : ""}`;
    // The signature holds; what it signs must be this tag of this commit. (Checked after the
    // signature so that the refusal can name who signed what is served here.)
    const headers = tagHeaders(body);
    if (headers.get("object") !== resolved.commit || headers.get("type") !== "commit") {
      throw refuse(`${tagName} (tag object ${tagObject}) does not tag the commit ${resolved.commit}`, signHint, signer);
    }
    // A validly signed tag object of another release, served under this tag's name, is no proof of this one.
    if (headers.get("tag") !== req.revision) {
      throw refuse(`${tagName} is the tag object ${tagObject}, which names itself ${JSON.stringify(headers.get("tag") ?? "")}: a signed tag of another revision served under this name`, signHint, signer);
    }
    if (pin && !req.acceptMoved && (pin.tagObject !== undefined ? pin.tagObject !== tagObject : pin.commit !== resolved.commit)) {
      const was = pin.tagObject !== undefined ? `the tag object ${pin.tagObject} (commit ${pin.commit.slice(0, 12)}${pin.signer ? `, signed by ${pin.signer}` : ""})` : `the commit ${pin.commit.slice(0, 12)}`;
      throw refuse(
        `${tagName} now points elsewhere than ${LOCK_FILE} recorded: it is the tag object ${tagObject} (commit ${resolved.commit.slice(0, 12)}), where ${LOCK_FILE} has ${was}`,
        `A release tag that moves is suspect: ask upstream why. To take the new tag (its signature is checked again), run xqbuild fetch --update-lock.`,
        signer,
      );
    }
    return { tag: req.revision, tagObject, commit: resolved.commit, signer: verdict.fingerprint, ...(verdict.uid ? { uid: verdict.uid } : {}) };
  } finally {
    await rm(ring.dir, { recursive: true, force: true });
  }
}
