/**
 * The vocabulary of host requirements: what a component's recipe says it needs (components/<name>/)
 * and what the doctor probes (doctor.ts). Data only, so recipes can describe their needs without
 * pulling in the probes.
 */

/** How a requirement is looked for. */
export type Probe =
  | { kind: "program"; names: readonly string[] }
  | { kind: "pkg-config"; module: string }
  | { kind: "header"; file: string }
  /** Any of the modules importable by a Python (a "+" joins modules that must all be there). */
  | { kind: "python-module"; python: string; modules: readonly string[] }
  /**
   * A Python distribution that `owner` (the component's build) installs offline into a venv: found as
   * a wheel in `wheels`, or as an `accepted` version the Python already has; `note` says why a wheel
   * may be missing.
   */
  | { kind: "python-wheel"; python: string; dist: string; owner: string; wheels: string; accepted: string; note?: string };

/** One thing the host must have, how to look for it, and the packages that provide it. */
export interface Requirement {
  readonly what: string;
  readonly probe: Probe;
  readonly debian: readonly string[];
  readonly fedora: readonly string[];
}

/** A requirement with the reason it is asked for ("qemu-xen", "the spice feature", ...). */
export type HostRequirement = Requirement & { readonly why: string };

/** A program found on PATH under any of `names`. */
export const prog = (what: string, names: readonly string[], debian: readonly string[], fedora: readonly string[]): Requirement => ({ what, probe: { kind: "program", names }, debian, fedora });
/** A pkg-config module. */
export const pc = (module: string, debian: readonly string[], fedora: readonly string[]): Requirement => ({ what: `${module} (pkg-config)`, probe: { kind: "pkg-config", module }, debian, fedora });
/** A header in the system's include directories. */
export const hdr = (file: string, debian: readonly string[], fedora: readonly string[]): Requirement => ({ what: `<${file}>`, probe: { kind: "header", file }, debian, fedora });

/** Requirements that share one reason. */
export function because(why: string, ...rs: readonly Requirement[]): HostRequirement[] {
  return rs.map((r) => ({ ...r, why }));
}
