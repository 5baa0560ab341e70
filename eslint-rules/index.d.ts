import type { ESLint } from "eslint";

/** xqbuild's local ESLint plugin (index.js): no-component-names, no-cli-import, no-cycle. */
export declare const xqbuild: ESLint.Plugin;
