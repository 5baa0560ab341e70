import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";
import type { ResolvedConfig, SystemComponent } from "../config/types.js";
import { onPath } from "../util/which.js";
import { UserError } from "../util/errors.js";

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

/** An installed SeaBIOS must be an absolute path to an existing BIOS image. */
export function checkSystemSeabios(sys: SystemComponent): string {
  if (!path.isAbsolute(sys.path)) {
    throw new UserError(`${sys.from}: ${JSON.stringify(sys.path)} is not an absolute path (Xen's ./configure requires one).`, "Give the full path of the installed bios.bin, for example /usr/share/seabios/bios.bin.", "config");
  }
  let st;
  try {
    st = statSync(sys.path);
  } catch {
    throw new UserError(`${sys.from}: ${sys.path} does not exist.`, "Install SeaBIOS (Debian: seabios) or give the right path.", "failure");
  }
  if (!st.isFile() || st.size < 64 * 1024 || st.size > 16 * 1024 * 1024) {
    throw new UserError(`${sys.from}: ${sys.path} is not a BIOS image (${st.isFile() ? `${st.size} bytes` : "not a file"}; expected 64 KiB to 16 MiB).`, "Point it at SeaBIOS's bios.bin.", "failure");
  }
  return sys.path;
}

/** Checks every installed component the configuration names; returns what is used. */
export function checkSystemComponents(config: ResolvedConfig): string[] {
  const used: string[] = [];
  if (config.system.qemu) used.push(`qemu-xen: using ${checkSystemQemu(config.system.qemu, config.env)} (${config.system.qemu.from})`);
  if (config.system.seabios) used.push(`seabios: using ${checkSystemSeabios(config.system.seabios)} (${config.system.seabios.from})`);
  return used;
}
