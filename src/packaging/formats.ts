/**
 * The SBOM formats xqbuild writes: CycloneDX 1.6 JSON (the default) and SPDX 2.3 JSON. Apart from
 * sbom.ts so that the command line can name them without loading the SBOM writers.
 */
export const SBOM_FORMATS = ["cyclonedx", "spdx"] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

export function isSbomFormat(v: string): v is SbomFormat {
  return (SBOM_FORMATS as readonly string[]).includes(v);
}
