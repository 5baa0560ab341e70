import { statSync } from "node:fs";
import path from "node:path";
import type { SystemComponent } from "../../config/types.js";
import { UserError } from "../../util/errors.js";
import type { SystemOverride } from "../recipe.js";

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

/** --with-system-seabios (Xen's ./configure option of that name). */
export const systemSeabios: SystemOverride = { of: (config) => config.system.seabios, check: (sys) => checkSystemSeabios(sys) };
