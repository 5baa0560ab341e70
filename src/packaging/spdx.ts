import type { Bill, BillComponent } from "./bill.js";
import { contentUuid } from "./cyclonedx.js";

/*
 * The bill as an SPDX 2.3 JSON document (SPDX has no JavaScript library for writing 2.3; the object is
 * built here against the official schema, which the tests validate it with). Each built component is
 * a package whose downloadLocation is its upstream at the resolved commit; its submodules and meson
 * subprojects are packages it CONTAINS; each patch of its queue is a file PATCH_APPLIED to it; each
 * installed file is a file GENERATED_FROM it. The same bill gives the same bytes.
 */

type Json = Record<string, unknown>;

/** An SPDX element id: SPDXRef- and letters, digits, '.' and '-' only. */
function spdxId(...parts: string[]): string {
  return `SPDXRef-${parts.map((p) => p.replace(/[^A-Za-z0-9.-]+/g, "-")).join("-")}`;
}

/** A git upstream as SPDX writes one: git+URL@commit (a URL that already says git+ or git:// keeps its scheme). */
function gitLocation(url: string, commit: string): string {
  const vcs = /^(git\+|git:\/\/)/.test(url) ? url : /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? `git+${url}` : `git+file://${url}`;
  return `${vcs}@${commit}`;
}

function checksums(f: { sha256: string; sha1?: string }): Json[] {
  return [...(f.sha1 !== undefined ? [{ algorithm: "SHA1", checksumValue: f.sha1 }] : []), { algorithm: "SHA256", checksumValue: f.sha256 }];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Parts {
  packages: Json[];
  files: Json[];
  relationships: Json[];
}

function sourceInfo(c: BillComponent): string {
  const s = c.source;
  const asked = s.revision !== undefined ? `${s.revision}, ` : "";
  const tags = s.tags.length > 0 ? `; tags ${s.tags.join(", ")}` : "";
  const signed = s.tagObject !== undefined ? `; signed tag object ${s.tagObject}${s.signer !== undefined ? ` by key ${s.signer}` : ""}, verified by xqbuild` : "";
  const tarball = s.sha256 !== undefined ? `release tarball ${s.url} (sha256 ${s.sha256}), ` : "";
  const patched = s.treeCommit !== s.commit ? `; with the patch queue applied: tree commit ${s.treeCommit}` : "";
  return `${tarball}${asked}commit ${s.commit} of ${s.date}${tags}${signed}${patched}`;
}

function componentParts(c: BillComponent, out: Parts): void {
  const pkg = spdxId("Package", c.name);
  const s = c.source;
  const comment = [
    ...c.configure.map((argv) => `configure argv: ${JSON.stringify(argv)}`),
    ...c.configFiles.map((f) => `config file ${f.path}: sha256 ${f.sha256}`),
    ...Object.entries(c.buildTools).map(([k, v]) => `${k}: ${v}`),
    ...(c.installedWhy !== undefined ? [`installed files unknown: ${c.installedWhy}`] : []),
  ].join("\n");
  out.packages.push({
    SPDXID: pkg,
    name: c.name,
    ...(c.version !== undefined ? { versionInfo: c.version } : {}),
    downloadLocation: s.kind === "git" ? gitLocation(s.url, s.commit) : s.url,
    filesAnalyzed: false,
    ...(s.sha256 !== undefined ? { checksums: [{ algorithm: "SHA256", checksumValue: s.sha256 }] } : {}),
    sourceInfo: sourceInfo(c),
    licenseConcluded: c.license.spdx,
    licenseDeclared: c.license.spdx,
    licenseComments: `Declared by xqbuild's recipe and confirmed by the tree's license files: ${c.license.files.map((f) => `${f.path} (sha256 ${f.sha256})`).join(", ")}.`,
    copyrightText: "NOASSERTION",
    primaryPackagePurpose: c.kind === "firmware" ? "FIRMWARE" : "APPLICATION",
    ...(comment !== "" ? { comment } : {}),
  });
  out.relationships.push({ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: pkg });
  for (const m of c.submodules) {
    const id = spdxId("Package", c.name, "submodule", m.path);
    out.packages.push({
      SPDXID: id,
      name: m.path,
      versionInfo: m.commit,
      downloadLocation: m.url !== undefined ? gitLocation(m.url, m.commit) : "NOASSERTION",
      filesAnalyzed: false,
      sourceInfo: `git submodule ${m.path} of ${c.name}, commit ${m.commit}`,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      copyrightText: "NOASSERTION",
      primaryPackagePurpose: "SOURCE",
    });
    out.relationships.push({ spdxElementId: pkg, relationshipType: "CONTAINS", relatedSpdxElement: id });
  }
  for (const w of c.subprojects) {
    const id = spdxId("Package", c.name, "subproject", w.name);
    const version = w.commit ?? w.revision;
    out.packages.push({
      SPDXID: id,
      name: w.name,
      ...(version !== undefined ? { versionInfo: version } : {}),
      downloadLocation: w.url === undefined ? "NOASSERTION" : w.type === "wrap-git" && version !== undefined ? gitLocation(w.url, version) : w.url,
      filesAnalyzed: false,
      ...(w.sha256 !== undefined ? { checksums: [{ algorithm: "SHA256", checksumValue: w.sha256 }] } : {}),
      sourceInfo: `subproject ${w.name} of ${c.name} (${w.type}, wrap file sha256 ${w.wrapHash}${w.present ? "" : "; not prepared in the tree"})`,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      copyrightText: "NOASSERTION",
      primaryPackagePurpose: "SOURCE",
    });
    out.relationships.push({ spdxElementId: pkg, relationshipType: "CONTAINS", relatedSpdxElement: id });
  }
  c.patches.forEach((p, i) => {
    const id = spdxId("Patch", c.name, String(i + 1), p.name);
    out.files.push({
      SPDXID: id,
      fileName: `./patches/${c.name}/${p.name}`,
      checksums: checksums(p),
      fileTypes: ["SOURCE"],
      licenseConcluded: "NOASSERTION",
      copyrightText: "NOASSERTION",
      comment: `patch ${i + 1} of ${c.name}'s queue, applied with ${p.tool === "git" ? "git apply" : "patch"} -p${p.strip}`,
    });
    out.relationships.push({ spdxElementId: id, relationshipType: "PATCH_APPLIED", relatedSpdxElement: pkg });
  });
  (c.installed ?? []).forEach((f, i) => {
    const id = spdxId("File", c.name, String(i + 1));
    out.files.push({ SPDXID: id, fileName: `./${f.path}`, checksums: checksums(f), licenseConcluded: "NOASSERTION", copyrightText: "NOASSERTION" });
    out.relationships.push({ spdxElementId: id, relationshipType: "GENERATED_FROM", relatedSpdxElement: pkg });
  });
}

/** The bill as SPDX 2.3 JSON text (two-space indent, trailing newline). */
export function spdxText(bill: Bill): string {
  const parts: Parts = { packages: [], files: [], relationships: [] };
  for (const c of bill.components) componentParts(c, parts);
  parts.packages.sort((a, b) => cmp(String(a.SPDXID), String(b.SPDXID)));
  parts.files.sort((a, b) => cmp(String(a.SPDXID), String(b.SPDXID)));
  const key = (r: Json): string => `${String(r.spdxElementId)}\0${String(r.relationshipType)}\0${String(r.relatedSpdxElement)}`;
  parts.relationships.sort((a, b) => cmp(key(a), key(b)));
  const name = `xen-device-models-${bill.xenVersion}`;
  const body = {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name,
    creationInfo: {
      created: bill.created,
      creators: [`Tool: ${bill.tool.name}-${bill.tool.version}`],
      comment: `Xen's device models and firmware as xqbuild built them (the glue of ${bill.release}). Toolchain: ${Object.entries(bill.toolchain)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ")}.`,
    },
    packages: parts.packages,
    ...(parts.files.length > 0 ? { files: parts.files } : {}),
    relationships: parts.relationships,
  };
  // The namespace is the content's own hash: the same bill, the same document, the same URI.
  const namespace = `https://spdx.org/spdxdocs/xqbuild/${name}-${contentUuid(JSON.stringify(body))}`;
  const doc = { ...body, documentNamespace: namespace };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
