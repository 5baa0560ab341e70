import { createHash } from "node:crypto";

/** A stable JSON text: object keys sorted at every level, so equal inputs give equal text. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  const keys = Object.keys(value as Record<string, unknown>).sort();
  return `{${keys
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
    .join(",")}}`;
}

/** sha256 of the stable JSON of every input of a stage. */
export function fingerprint(inputs: unknown): string {
  return createHash("sha256").update(stableJson(inputs)).digest("hex");
}
