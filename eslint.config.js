import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { xqbuild } from "./eslint-rules/index.js";

// Files that still name components, each with why (issue 15: what is left). A file leaves the list
// once it passes the rule, and a new file never joins it.
const COMPONENT_NAMES_ALLOWED = [
  // The command line: the --with-system-qemu/--with-system-seabios options Xen's ./configure names.
  "src/cli/args.ts",
  "src/cli/context.ts",
  // The configuration: Xen's variables, the release profiles, the built-in Config.mk, --with-system-* in the
  // resolved configuration (config.system.qemu/seabios), the tree's directories.
  "src/config/builtin-mk.ts",
  "src/config/release.ts",
  "src/config/resolve.ts",
  "src/config/types.ts",
  "src/config/variables.ts",
  "src/config/xen-tree.ts",
  // Meson's subprojects/*.wrap format, which the fetch prepares.
  "src/source/wraps.ts",
  // The install hints of missing tools (ninja: the ninja-build package).
  "src/util/proc.ts",
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "fixtures/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports." }
      ]
    }
  },
  {
    // The layers (issue 15): component knowledge in src/components/, nothing below the command line
    // imports it, no import circle.
    files: ["src/**/*.ts"],
    plugins: { xqbuild },
    rules: {
      "xqbuild/no-component-names": "error",
      "xqbuild/no-cli-import": "error",
      "xqbuild/no-cycle": "error"
    }
  },
  { files: ["src/components/**/*.ts", ...COMPONENT_NAMES_ALLOWED], rules: { "xqbuild/no-component-names": "off" } },
  {
    // Tool configuration files must default-export.
    files: ["eslint.config.js", "vitest.config.ts", "vitest.e2e.config.ts"],
    rules: { "no-restricted-syntax": "off" }
  },
  {
    files: ["scripts/**/*.mjs", "fixtures/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly" } }
  },
  {
    files: ["eslint-rules/**/*.js"],
    languageOptions: { globals: { process: "readonly" } }
  }
);
