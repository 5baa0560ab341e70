/**
 * The make variables xqbuild reads, with the makefile context in which the glue reads them.
 * `tools` variables are evaluated as tools/Makefile sees them, `firmware` ones as
 * tools/firmware/Makefile does. `doc` is shown by `xqbuild config` and in .config.example.
 */
export interface KnownVariable {
  readonly name: string;
  readonly context: "tools" | "firmware";
  readonly doc: string;
  /** Shown by `xqbuild config` without --all. */
  readonly primary?: boolean;
  /** Variables xqbuild adds; the glue does not know them. */
  readonly xqbuild?: boolean;
}

const t = (name: string, doc: string, primary = false): KnownVariable => ({ name, context: "tools", doc, primary });
const f = (name: string, doc: string, primary = false): KnownVariable => ({ name, context: "firmware", doc, primary });
const x = (name: string, doc: string): KnownVariable => ({ name, context: "tools", doc, primary: true, xqbuild: true });

export const KNOWN_VARIABLES: readonly KnownVariable[] = [
  t("QEMU_UPSTREAM_URL", "git URL qemu-xen is cloned from", true),
  t("QEMU_UPSTREAM_REVISION", "branch, tag or commit of qemu-xen", true),
  t("QEMU_UPSTREAM_LOC", "a local qemu-xen directory built in place, or the URL", true),
  t("QEMU_UPSTREAM_INTREE", "where an in-tree qemu-xen is looked for (tools/qemu-xen)"),
  t("QEMU_TRADITIONAL_URL", "git URL qemu-xen-traditional is cloned from", true),
  t("QEMU_TRADITIONAL_REVISION", "branch, tag or commit of qemu-xen-traditional", true),
  t("QEMU_TRADITIONAL_LOC", "a local qemu-xen-traditional directory, or the URL", true),
  t("QEMU_TRADITIONAL_INTREE", "where an in-tree qemu-xen-traditional is looked for"),
  t("SEABIOS_UPSTREAM_URL", "git URL SeaBIOS is cloned from", true),
  t("SEABIOS_UPSTREAM_REVISION", "branch, tag or commit of SeaBIOS", true),
  t("SEABIOS_UPSTREAM_TAG", "legacy name of SEABIOS_UPSTREAM_REVISION"),
  t("QEMU_REMOTE", "legacy name of QEMU_TRADITIONAL_URL"),
  t("QEMU_TAG", "legacy name of QEMU_TRADITIONAL_REVISION"),
  t("CONFIG_QEMU", "legacy name of QEMU_TRADITIONAL_LOC"),
  t("GIT_HTTP", "y: default URLs use http instead of git:// (Xen 4.17)", true),
  t("GIT", "the git program", true),
  t("CONFIG_QEMU_XEN", "y: build qemu-xen (n with --with-system-qemu)", true),
  t("CONFIG_QEMU_TRAD", "y: build qemu-xen-traditional (--enable-qemu-traditional)", true),
  t("CONFIG_SEABIOS", "y: build SeaBIOS (n with --with-system-seabios)", true),
  t("CONFIG_9PFS", "y: --enable-virtfs, n: --disable-virtfs, empty: QEMU's default", true),
  t("CONFIG_QEMUU_EXTRA_ARGS", "extra arguments to QEMU's configure (--with-extra-qemuu-configure-args)", true),
  t("debug", "y: QEMU's --enable-debug", true),
  t("EXTRA_CFLAGS_QEMU_XEN", "extra CFLAGS for qemu-xen", true),
  t("EXTRA_CFLAGS_QEMU_TRADITIONAL", "extra CFLAGS for qemu-xen-traditional", true),
  t("PYTHON", "the Python interpreter given to QEMU and SeaBIOS", true),
  t("prefix", "installation prefix", true),
  t("libdir", "library directory"),
  t("bindir", "program directory"),
  t("localstatedir", "state directory"),
  t("LIBEXEC", "Xen's private program tree", true),
  t("LIBEXEC_BIN", "where qemu-system-i386 is installed", true),
  t("LIBEXEC_LIB", "QEMU's --libdir and rpath", true),
  t("LIBEXEC_INC", "QEMU's --includedir", true),
  t("SHAREDIR", "QEMU's datadir is SHAREDIR/qemu-xen", true),
  t("XENFIRMWAREDIR", "where seabios.bin is installed", true),
  t("XEN_SCRIPT_DIR", "exported to qemu-xen-traditional's build"),
  t("XEN_TOOLS_RPATH", "y: add -Wl,-rpath,libdir (--enable-rpath)"),
  t("XEN_COMPILE_ARCH", "the architecture the build runs on"),
  t("XEN_TARGET_ARCH", "the architecture built for"),
  t("IOEMU_CPU_ARCH", "QEMU's --cpu"),
  t("CROSS_COMPILE", "cross-compiler prefix"),
  t("CROSS_SYS_ROOT", "cross sysroot"),
  t("IOEMU_CONFIGURE_CROSS", "cross flags given to QEMU's configure"),
  t("QEMU_UPSTREAM_RPATH", "QEMU's --extra-ldflags (from XEN_TOOLS_RPATH)"),
  t("IOEMU_EXTRA_LDFLAGS", "qemu-xen-traditional's --extra-ldflags"),
  t("QEMU_ROOT", "qemu-xen-traditional's source directory when local"),
  t("DESTDIR", "staging directory for install"),
  t("PKG_CONFIG_PATH", "appended to tools/pkg-config for QEMU's configure, as make exports it"),
  t("CC", "C compiler"),
  t("LD", "linker"),
  f("SEABIOSCC", "C compiler for SeaBIOS", true),
  f("SEABIOSLD", "linker for SeaBIOS", true),
  f("SEABIOS_EXTRAVERSION", "SeaBIOS version suffix", true),
  x("QEMU_UPSTREAM_SHA256", "xqbuild: sha256 of a tarball QEMU_UPSTREAM_LOC"),
  x("QEMU_TRADITIONAL_SHA256", "xqbuild: sha256 of a tarball QEMU_TRADITIONAL_LOC"),
  x("SEABIOS_UPSTREAM_LOC", "xqbuild: a local SeaBIOS directory or tarball used instead of the URL"),
  x("SEABIOS_UPSTREAM_SHA256", "xqbuild: sha256 of a tarball SEABIOS_UPSTREAM_LOC"),
  x("XQBUILD_OFFLINE", "xqbuild: 1/true/yes/on = never use the network (--offline), 0/false/no/off = use it"),
];

export const KNOWN_NAMES: ReadonlySet<string> = new Set(KNOWN_VARIABLES.map((v) => v.name));

/** The variables `xqbuild config --json` must always print. */
export const REQUIRED_CONFIG_VARIABLES = [
  "QEMU_UPSTREAM_URL",
  "QEMU_UPSTREAM_REVISION",
  "QEMU_UPSTREAM_LOC",
  "QEMU_TRADITIONAL_URL",
  "QEMU_TRADITIONAL_REVISION",
  "QEMU_TRADITIONAL_LOC",
  "SEABIOS_UPSTREAM_URL",
  "SEABIOS_UPSTREAM_REVISION",
  "GIT_HTTP",
  "CONFIG_QEMU_XEN",
  "CONFIG_QEMU_TRAD",
  "CONFIG_SEABIOS",
  "CONFIG_9PFS",
  "CONFIG_QEMUU_EXTRA_ARGS",
  "debug",
  "EXTRA_CFLAGS_QEMU_XEN",
  "PYTHON",
  "prefix",
  "LIBEXEC",
  "LIBEXEC_BIN",
  "LIBEXEC_LIB",
  "LIBEXEC_INC",
  "SHAREDIR",
  "XENFIRMWAREDIR",
] as const;

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** The known name a likely typo meant, if one is close enough. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = name.length <= 6 ? 1 : name.length <= 12 ? 2 : 3;
  for (const k of known) {
    if (k === name) return undefined;
    const d = editDistance(name.toUpperCase(), k.toUpperCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= limit ? best : undefined;
}
