import { spawnSync } from "node:child_process";
import type { SystemComponent } from "../../config/types.js";
import { onPath } from "../../util/which.js";
import { UserError } from "../../util/errors.js";
import type { SystemOverride } from "../recipe.js";

/** An installed QEMU must exist and know Xen's machine (`-machine help` lists xenfv). */
export function checkSystemQemu(sys: SystemComponent, env: Readonly<Record<string, string>>): string {
  const bin = onPath(sys.path, env);
  if (!bin && sys.path.includes("/")) {
    throw new UserError(`${sys.from}: ${sys.path} does not exist or is not executable.`, "Give the path of an installed qemu-system-i386 (or -x86_64) built with Xen support.", "failure");
  }
  if (!bin) throw new UserError(`${sys.from}: ${sys.path} is not on PATH.`, "Install QEMU with Xen support (Debian: qemu-system-x86) or give its full path.", "failure");
  const r = spawnSync(bin, ["-machine", "help"], { env, encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0 || !/^xenfv\b/m.test(r.stdout ?? "")) {
    throw new UserError(
      `${sys.from}: ${bin} has no Xen support: its "-machine help" does not list xenfv${r.status !== 0 ? ` (it exited with ${r.status ?? r.signal})` : ""}.`,
      "Use a QEMU built with --enable-xen, or let xqbuild build qemu-xen (drop --with-system-qemu).",
      "failure",
    );
  }
  return bin;
}

/** --with-system-qemu (Xen's ./configure option of that name). */
export const systemQemu: SystemOverride = { of: (config) => config.system.qemu, check: checkSystemQemu };
