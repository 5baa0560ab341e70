import type { XqEvent } from "./events.js";

/**
 * Whether a line a tool printed says something on its own, as the one line a live view shows
 * under a running task. Not: blank lines; lines of nothing but markers and rules (a compiler's
 * caret and tilde line "   ^~~~", a lone "|", "-----", "..."); a quoted source excerpt ("  3 |  x;",
 * the line number and gutter a compiler prints above its caret); the bare "In file included from
 * X:1:" / "from Y:2," chain that only leads to the diagnostic. Generic on purpose: it knows the
 * shapes of such lines, not the tools that print them.
 */
export function isMeaningful(line: string): boolean {
  const t = line.trim();
  if (t === "") return false;
  if (/^[|^~+\-=_.:;,*#<>/\\`'"()[\]{}\s]*$/.test(t)) return false;
  if (/^\d*\s*\|/.test(t)) return false;
  if (/^(In file included from|from)\s+\S+?[:,]?\s*$/.test(t)) return false;
  return true;
}

/** A diagnostic ("error: ...", "ERROR: ...", "fatal error: ...") is what a failed task shows. */
export function isDiagnostic(line: string): boolean {
  return /(^|[\s:])(fatal )?error:/i.test(line);
}

/** Seconds as a person reads a running time: "12s", "2m30s", "1h02m". */
export function elapsed(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A byte count in binary units, one decimal: "12.0 MiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

type Progress = Extract<XqEvent, { type: "progress" }>;

/** The percentage a progress event stands for: its own, or done of total. */
export function percentOf(p: Progress): number | undefined {
  if (p.percent !== undefined) return p.percent;
  if (p.done !== undefined && p.total !== undefined && p.total > 0) return (100 * p.done) / p.total;
  return undefined;
}

/** The parts of a progress event a line shows: "812/1800", "45%", "12.0 MiB", "2.1 MiB/s". */
export function progressParts(p: Progress): string[] {
  const parts: string[] = [];
  if (p.done !== undefined && p.total !== undefined) parts.push(`${p.done}/${p.total}`);
  const pct = percentOf(p);
  if (pct !== undefined) parts.push(`${Math.floor(pct)}%`);
  if (p.bytes !== undefined) parts.push(bytes(p.bytes));
  if (p.rate !== undefined) parts.push(`${bytes(p.rate)}/s`);
  return parts;
}

/** A bar of `width` cells for a percentage: "▕████░░░░▏". */
export function bar(percent: number, width = 10): string {
  const full = Math.max(0, Math.min(width, Math.floor((percent / 100) * width)));
  return `▕${"█".repeat(full)}${"░".repeat(width - full)}▏`;
}
