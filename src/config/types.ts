import type { ComponentName } from "../components/names.js";
import type { XqbuildEnv } from "./env.js";
import type { ReleaseProfile, XenVersion } from "./release.js";
import type { Features, Settings } from "./settings.js";

/** An installed QEMU or SeaBIOS named instead of a build, and where that choice was made. */
export interface SystemComponent {
  readonly path: string;
  readonly from: string;
}

/** Where a variable's value came from, as `xqbuild config` reports it. */
export type Origin =
  | { readonly kind: "file"; readonly file: string; readonly line: number }
  | { readonly kind: "environment" }
  | { readonly kind: "command line" }
  | { readonly kind: "xqbuild config"; readonly file: string }
  | { readonly kind: "built-in default" }
  | { readonly kind: "make default" }
  | { readonly kind: "undefined" };

export interface ResolvedVar {
  readonly value: string;
  readonly origin: Origin;
  /** For a value reached through a legacy alias or another variable, what it was derived from. */
  readonly via?: string;
}

/** Xen tree mode reads the tree; standalone mode has built-in defaults and builds under ./build. */
export type Mode = "tree" | "standalone";

/** Everything below the config layer works from this value and never reads files or the environment again. */
export interface ResolvedConfig {
  readonly mode: Mode;
  /** The Xen tree's root, or in standalone mode the directory standing in for it (./build). */
  readonly xenRoot: string;
  readonly xenVersion: XenVersion;
  readonly release: ReleaseProfile;
  /** True when config/Tools.mk was missing and built-in ./configure defaults stood in. */
  readonly unconfigured: boolean;
  readonly vars: ReadonlyMap<string, ResolvedVar>;
  readonly settings: Settings;
  /** Installed device models used instead of building them (--with-system-qemu/-seabios, tools/config.h). */
  readonly system: { readonly qemu?: SystemComponent; readonly seabios?: SystemComponent };
  /** Feature switches: --with/--without over the config file's features. */
  readonly features: Features;
  readonly settingsFile?: string;
  /** Components named on the command line (empty: follow CONFIG_*). */
  readonly selected: readonly ComponentName[];
  readonly jobs: number;
  readonly offline: boolean;
  /** Mirrors, downloads and artifacts shared by every tree on the machine. */
  readonly cacheDir: string;
  readonly warnings: readonly string[];
  /** The environment the build runs with (the caller's, minus what xqbuild refuses to pass on). */
  readonly env: Readonly<Record<string, string>>;
  /** xqbuild's own XQBUILD_* switches and numbers, parsed once (config/env.ts); read them here, not from env. */
  readonly xq: XqbuildEnv;
}

export function formatOrigin(o: Origin, xenRoot?: string): string {
  switch (o.kind) {
    case "file": {
      let f = o.file;
      if (xenRoot && (f === xenRoot || f.startsWith(xenRoot + "/"))) f = f.slice(xenRoot.length + 1);
      return `${f}:${o.line}`;
    }
    case "xqbuild config":
      return `xqbuild config ${o.file}`;
    case "environment":
    case "command line":
    case "built-in default":
    case "make default":
    case "undefined":
      return o.kind;
    default: {
      const never: never = o;
      return never;
    }
  }
}
