// Shared by the tests (through tree-outputs.d.mts) and the bench, which copy the configured Xen tree
// and compare what two installs wrote.
import fs from "node:fs";
import path from "node:path";

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

/**
 * Every file under an install directory (DESTDIR), relative path → mode and contents (a symlink:
 * its target), to compare two installs byte for byte.
 */
export function installedFiles(dir) {
  const out = new Map();
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(dir, r);
      if (e.isDirectory()) walk(r);
      else out.set(r, e.isSymbolicLink() ? `-> ${fs.readlinkSync(full)}` : `${(fs.statSync(full).mode & 0o777).toString(8)} ${fs.readFileSync(full).toString("base64")}`);
    }
  };
  walk("");
  return out;
}
