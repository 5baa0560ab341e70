/** The three pieces xqbuild fetches and builds, by the names users type. */
export const COMPONENT_NAMES = ["qemu-xen", "qemu-xen-traditional", "seabios"] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

export function isComponentName(s: string): s is ComponentName {
  return (COMPONENT_NAMES as readonly string[]).includes(s);
}
