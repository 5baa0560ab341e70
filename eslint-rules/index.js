// xqbuild's own lint rules: the layering issue 15 asks for, as checks rather than a convention.
//   no-component-names  component knowledge stays in src/components/<name>/
//   no-cli-import       only src/cli/ imports src/cli/ (argv, commands and the reporter choice are the top)
//   no-cycle            no import circle among src/ (value imports; `import type` is erased)
// Plain ESLint rules (no dependency): the graph for no-cycle is read from the files with a small
// import scanner, which is enough for this code base's one-line-per-import ESM.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";

/** Component names, and the build tools only one component uses. */
const DEFAULT_NAMES = ["qemu-xen-traditional", "qemu-xen", "seabios", "meson", "ninja"];

function wordPattern(names) {
  const alt = [...names].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  // A word: not inside a longer run of letters or digits (tools/qemu-xen-dir and SEABIOS_UPSTREAM_URL count).
  return new RegExp(`(?<![A-Za-z0-9])(${alt})(?![A-Za-z0-9])`, "i");
}

/** An identifier's words: qemuXenCflags → qemu xen cflags, QEMU_XEN_LIBS → qemu xen libs. */
function identifierWords(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_$]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** The name an identifier spells, from names whose words it contains in order (qemu-xen: qemu, xen). */
function identifierHit(name, names) {
  const words = identifierWords(name);
  for (const n of names) {
    const parts = n.toLowerCase().split("-");
    for (let i = 0; i + parts.length <= words.length; i++) {
      if (parts.every((p, j) => words[i + j] === p)) return n;
    }
  }
  return undefined;
}

const noComponentNames = {
  meta: {
    type: "problem",
    docs: { description: "No component name outside src/components/" },
    schema: [{ type: "object", properties: { names: { type: "array", items: { type: "string" } }, identifiers: { type: "boolean" } }, additionalProperties: false }],
    messages: {
      named:
        '{{kind}} names the component or its tool "{{name}}" outside src/components/. Component knowledge lives in src/components/<name>/ behind the recipe contract (src/components/recipe.ts): ask the recipe (a member of Recipe) instead of naming it here.',
    },
  },
  create(context) {
    const opts = context.options[0] ?? {};
    const names = opts.names ?? DEFAULT_NAMES;
    const re = wordPattern(names);
    const check = (node, text, kind) => {
      const m = re.exec(text);
      if (m) context.report({ node, messageId: "named", data: { kind, name: m[1] } });
    };
    const visitors = {
      Literal(node) {
        if (typeof node.value === "string") check(node, node.value, "A string");
      },
      TemplateElement(node) {
        check(node, node.value.raw, "A template's text");
      },
    };
    if (opts.identifiers !== false) {
      visitors.Identifier = (node) => {
        const hit = identifierHit(node.name, names);
        if (hit) context.report({ node, messageId: "named", data: { kind: `The identifier ${node.name}`, name: hit } });
      };
    }
    return visitors;
  },
};

/** The path of the file a relative specifier names (".js" as written for the ".ts" source). */
function resolveImport(fromFile, spec) {
  if (!spec.startsWith(".")) return undefined;
  const abs = path.resolve(path.dirname(fromFile), spec);
  for (const cand of [abs.replace(/\.js$/, ".ts"), abs, `${abs}.ts`, path.join(abs, "index.ts")]) {
    try {
      if (statSync(cand).isFile()) return cand;
    } catch {
      // not this one
    }
  }
  return abs.replace(/\.js$/, ".ts");
}

function insideDir(file, dir) {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

const noCliImport = {
  meta: {
    type: "problem",
    docs: { description: "Only src/cli/ imports from src/cli/" },
    schema: [],
    messages: {
      cli: "{{file}} imports {{spec}}, which is in src/cli/: lower layers (config, plan, source, engine, cache, report, components, host, util) never import the command line. Pass the value down from the command instead, or move what is shared to the layer that owns it.",
    },
  },
  create(context) {
    const file = context.filename;
    const cli = path.join(context.cwd, "src", "cli");
    if (insideDir(file, cli)) return {};
    const check = (node) => {
      const spec = node.source && typeof node.source.value === "string" ? node.source.value : undefined;
      if (spec === undefined) return;
      const target = resolveImport(file, spec);
      if (target && insideDir(target, cli)) context.report({ node: node.source, messageId: "cli", data: { file: path.relative(context.cwd, file), spec } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

/** Per file (by mtime): the files its value imports name. */
const scanned = new Map();
const IMPORT_RE = /^[ \t]*(?:import|export)\s+(?!type\b)(?:[^;'"]*?\sfrom\s*)?["'](\.{1,2}\/[^"']+)["']/gm;

function importsOf(file) {
  let st;
  try {
    st = statSync(file);
  } catch {
    return [];
  }
  const kept = scanned.get(file);
  if (kept && kept.mtime === st.mtimeMs) return kept.imports;
  const text = readFileSync(file, "utf8");
  const imports = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const target = resolveImport(file, m[1]);
    if (target) imports.push(target);
  }
  scanned.set(file, { mtime: st.mtimeMs, imports });
  return imports;
}

const noCycle = {
  meta: {
    type: "problem",
    docs: { description: "No import circle" },
    schema: [],
    messages: {
      cycle: "Import circle: {{chain}}. A module that needs another's value and is needed by it makes the order of evaluation matter; move the shared part to a module both import (or make one side `import type`).",
    },
  },
  create(context) {
    const file = context.filename;
    const root = context.cwd;
    const rel = (f) => path.relative(root, f);
    const direct = [];
    const record = (node) => {
      if (node.importKind === "type" || node.exportKind === "type") return;
      // `import { type A, type B }`: every specifier a type, so nothing is imported at run time.
      if (node.specifiers?.length > 0 && node.specifiers.every((s) => s.importKind === "type" || s.exportKind === "type")) return;
      const spec = node.source && typeof node.source.value === "string" ? node.source.value : undefined;
      if (spec === undefined) return;
      const target = resolveImport(file, spec);
      if (target) direct.push({ node: node.source, target });
    };
    return {
      ImportDeclaration: record,
      ExportNamedDeclaration: record,
      ExportAllDeclaration: record,
      "Program:exit"() {
        for (const { node, target } of direct) {
          // Depth-first from the import back to this file; the first path found is the one reported.
          const seen = new Set();
          const stack = [[target, [file, target]]];
          let found;
          while (stack.length > 0 && !found) {
            const [at, trail] = stack.pop();
            if (seen.has(at)) continue;
            seen.add(at);
            for (const next of importsOf(at)) {
              if (next === file) {
                found = [...trail, file];
                break;
              }
              if (!seen.has(next)) stack.push([next, [...trail, next]]);
            }
          }
          if (found) context.report({ node, messageId: "cycle", data: { chain: found.map(rel).join(" → ") } });
        }
      },
    };
  },
};

export const xqbuild = {
  meta: { name: "xqbuild-local" },
  rules: { "no-component-names": noComponentNames, "no-cli-import": noCliImport, "no-cycle": noCycle },
};
