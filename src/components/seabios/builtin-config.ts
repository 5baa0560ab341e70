/**
 * The SeaBIOS configuration xqbuild uses in standalone mode, where there is no Xen tree with
 * tools/firmware/seabios-config: a BIOS for QEMU with Xen support. `make olddefconfig` completes it
 * with SeaBIOS's own defaults, as it completes Xen's file.
 */
export const SEABIOS_CONFIG = `# SeaBIOS configuration for a Xen HVM guest's BIOS (xqbuild standalone mode)
# CONFIG_COREBOOT is not set
CONFIG_QEMU=y
# CONFIG_CSM is not set
CONFIG_QEMU_HARDWARE=y
CONFIG_XEN=y
CONFIG_THREADS=y
CONFIG_RELOCATE_INIT=y
CONFIG_BOOTMENU=y
CONFIG_BOOTORDER=y
CONFIG_ROM_SIZE=0
`;

export const BUILTIN_PREFIX = "builtin:";

export function builtinFile(name: string): string | undefined {
  return name === "builtin:seabios-config" ? SEABIOS_CONFIG : undefined;
}
