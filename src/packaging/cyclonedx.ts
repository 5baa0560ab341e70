import { createHash } from "node:crypto";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import type { Bill, BillComponent, BillFile } from "./bill.js";

/*
 * The bill as a CycloneDX 1.6 JSON document, built with the CycloneDX project's own library (its
 * models and JsonSerializer, lists sorted): each built component with its license, its upstream as
 * a vcs reference, its commit, tags, signer and configure argv as properties, and its submodules,
 * meson subprojects, patches and installed files as nested components. The serial number and the
 * timestamp come from the bill, so the same bill gives the same bytes.
 */

/** Where xqbuild's own properties are named (CycloneDX's property taxonomy: a namespace per tool). */
const NS = "xqbuild";

/** A version-5-shaped UUID made from the document's content: the same bill, the same serial number. */
export function contentUuid(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function props(entries: ReadonlyArray<readonly [string, string | undefined]>): Models.PropertyRepository {
  const repo = new Models.PropertyRepository();
  for (const [name, value] of entries) if (value !== undefined) repo.add(new Models.Property(`${NS}:${name}`, value));
  return repo;
}

function fileHashes(f: Pick<BillFile, "sha256" | "sha1">): Models.HashDictionary {
  return new Models.HashDictionary([
    [Enums.HashAlgorithm["SHA-256"], f.sha256],
    [Enums.HashAlgorithm["SHA-1"], f.sha1],
  ]);
}

function refs(list: ReadonlyArray<Models.ExternalReference | undefined>): Models.ExternalReferenceRepository {
  const repo = new Models.ExternalReferenceRepository();
  for (const r of list) if (r) repo.add(r);
  return repo;
}

function componentOf(c: BillComponent): Models.Component {
  const ref = `component:${c.name}`;
  const s = c.source;
  const nested = new Models.ComponentRepository();
  for (const m of c.submodules) {
    nested.add(
      new Models.Component(Enums.ComponentType.Library, m.path, {
        bomRef: `${ref}:submodule:${m.path}`,
        version: m.commit,
        externalReferences: refs([m.url !== undefined ? new Models.ExternalReference(m.url, Enums.ExternalReferenceType.VCS, { comment: `git submodule ${m.path} at commit ${m.commit}` }) : undefined]),
        properties: props([
          ["role", "git-submodule"],
          ["commit", m.commit],
        ]),
      }),
    );
  }
  for (const w of c.subprojects) {
    const kind = w.type === "wrap-git" ? Enums.ExternalReferenceType.VCS : Enums.ExternalReferenceType.SourceDistribution;
    nested.add(
      new Models.Component(Enums.ComponentType.Library, w.name, {
        bomRef: `${ref}:subproject:${w.name}`,
        ...(w.commit ?? w.revision ? { version: (w.commit ?? w.revision) as string } : {}),
        ...(w.sha256 !== undefined ? { hashes: new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], w.sha256]]) } : {}),
        externalReferences: refs([w.url !== undefined ? new Models.ExternalReference(w.url, kind, { ...(w.sha256 !== undefined ? { hashes: new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], w.sha256]]) } : {}) }) : undefined]),
        properties: props([
          ["role", "subproject"],
          ["wrap-type", w.type],
          ["wrap-sha256", w.wrapHash],
          ["revision", w.revision],
          ["commit", w.commit],
          ["present", String(w.present)],
        ]),
      }),
    );
  }
  c.patches.forEach((p, i) => {
    nested.add(
      new Models.Component(Enums.ComponentType.File, p.name, {
        bomRef: `${ref}:patch:${p.name}`,
        hashes: fileHashes(p),
        properties: props([
          ["role", "patch"],
          ["patch-order", String(i + 1)],
          ["patch-strip", String(p.strip)],
          ["patch-tool", p.tool],
        ]),
      }),
    );
  });
  for (const f of c.installed ?? []) {
    nested.add(new Models.Component(Enums.ComponentType.File, f.path, { bomRef: `${ref}:file:${f.path}`, hashes: fileHashes(f), properties: props([["role", "installed-file"]]) }));
  }
  const license = new Models.SpdxLicense(c.license.spdx, { acknowledgement: Enums.LicenseAcknowledgement.Declared });
  const upstream =
    s.kind === "git"
      ? new Models.ExternalReference(s.url, Enums.ExternalReferenceType.VCS, { comment: `git ${s.revision !== undefined ? `${s.revision} = ` : ""}commit ${s.commit}` })
      : new Models.ExternalReference(s.url, Enums.ExternalReferenceType.SourceDistribution, { hashes: new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], s.sha256 ?? ""]]), comment: "release tarball" });
  return new Models.Component(c.kind === "firmware" ? Enums.ComponentType.Firmware : Enums.ComponentType.Application, c.name, {
    bomRef: ref,
    ...(c.version !== undefined ? { version: c.version } : {}),
    licenses: new Models.LicenseRepository([license]),
    externalReferences: refs([upstream]),
    components: nested,
    properties: props([
      ["source-kind", s.kind],
      ["revision", s.revision],
      ["commit", s.commit],
      ["tree-commit", s.treeCommit],
      ["commit-date", s.date],
      ...s.tags.map((t) => ["tag", t] as const),
      ["tag-object", s.tagObject],
      ["tag-signer", s.signer],
      ["tarball-sha256", s.sha256],
      ...c.configure.map((argv) => ["configure-argv", JSON.stringify(argv)] as const),
      ...c.configFiles.map((f) => [`config-file:${f.path}`, `sha256:${f.sha256}`] as const),
      ...Object.entries(c.buildTools).map(([k, v]) => [`build-tool:${k}`, v] as const),
      ...c.license.files.map((f) => [`license-file:${f.path}`, `sha256:${f.sha256}`] as const),
      ["installed-files-unknown", c.installedWhy],
    ]),
  });
}

/** The bill as CycloneDX 1.6 JSON text (two-space indent, trailing newline). */
export function cyclonedxText(bill: Bill): string {
  const bom = new Models.Bom();
  const top = new Models.Component(Enums.ComponentType.Application, "xen-device-models", {
    bomRef: "xqbuild-build",
    version: bill.xenVersion,
    description: `Xen's device models and firmware as xqbuild built them (the glue of ${bill.release})`,
  });
  const components = bill.components.map(componentOf);
  for (const c of components) {
    bom.components.add(c);
    top.dependencies.add(c.bomRef);
  }
  bom.metadata = new Models.Metadata({
    timestamp: new Date(bill.created),
    component: top,
    tools: new Models.Tools({ components: new Models.ComponentRepository([new Models.Component(Enums.ComponentType.Application, bill.tool.name, { version: bill.tool.version })]) }),
    properties: props(Object.entries(bill.toolchain).map(([k, v]) => [`toolchain:${k}`, v] as const)),
  });
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  // The serial number is the content's own hash: written once without it, then with it.
  const body = serializer.serialize(bom, { sortLists: true, space: 2 });
  bom.serialNumber = `urn:uuid:${contentUuid(body)}`;
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}
