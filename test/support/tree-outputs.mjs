// Shared by the tests (through tree-outputs.d.mts) and the bench, which copy the configured Xen tree.

/**
 * Paths relative to the tree root that a fresh copy of the configured Xen tree must not have: the
 * user's .config (the caller writes its own), xqbuild's marker, state and lock file, and anything
 * Xen's glue creates, in case one was left in the cached tree.
 */
export const GLUE_OUTPUTS = Object.freeze([
  ".config",
  ".xqbuild-configured",
  ".xqbuild",
  "xqbuild.lock",
  "tools/qemu-xen-dir",
  "tools/qemu-xen-dir-remote",
  "tools/qemu-xen-dir-remote.tmp",
  "tools/qemu-xen-build",
  "tools/qemu-xen-traditional-dir",
  "tools/qemu-xen-traditional-dir-remote",
  "tools/qemu-xen-traditional-dir-remote.tmp",
  "tools/firmware/seabios-dir",
  "tools/firmware/seabios-dir-remote",
  "tools/firmware/seabios-dir-remote.tmp",
]);
