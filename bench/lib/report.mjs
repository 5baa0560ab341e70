// Medians, the machine description, and the Markdown table of the results.
import { spawnSync } from "node:child_process";
import os from "node:os";
import process from "node:process";

export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout || r.stderr).trim().split("\n")[0];
}

export function machineInfo(env) {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model?.trim(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    git: firstLine("git", ["--version"]),
    make: firstLine("make", ["--version"]),
    gcc: firstLine("gcc", ["--version"]),
    ninja: firstLine("ninja", ["--version"]),
    python3: firstLine("python3", ["--version"]),
    pathUsed: env.PATH,
    date: new Date().toISOString()
  };
}

export function fmtSeconds(s) {
  if (s === undefined) return "—";
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  return `${s.toFixed(2)} s`;
}

export function fmtBytes(b) {
  if (b === undefined) return "—";
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

function fmtRatio(r) {
  if (r === undefined || !Number.isFinite(r)) return "—";
  if (r === 0) return "0";
  if (r < 0.1) return `${r.toFixed(3)} (1/${Math.round(1 / r)})`;
  return r.toFixed(2);
}

const yes = (ok) => (ok === undefined ? "—" : ok ? "yes" : "**no**");

/** The mean one-minute load average while a figure's samples ran (median over samples), xqbuild / glue. */
function loadOf(fig) {
  const l = (who) => median((fig?.[who]?.samples ?? []).map((s) => s.loadMean ?? s.load1));
  const x = l("xqbuild");
  const g = l("glue");
  return [x, g].filter((v) => v !== undefined).map((v) => v.toFixed(1)).join(" / ") || "—";
}

/** The figures' rows: [figure, xqbuild, glue, ratio, goal, met, load]. */
export function tableRows(res) {
  const f = res.figures;
  const rows = [];
  const n = (fig, who) => fig?.[who]?.samples?.length ?? 0;
  const runsNote = (fig) => {
    const a = n(fig, "xqbuild");
    const b = n(fig, "glue");
    return a || b ? ` (n=${a}${b && b !== a ? `/${b}` : ""})` : "";
  };
  if (f.a) {
    const x = f.a.xqbuild?.median?.wall;
    const g = f.a.glue?.median?.wall;
    const r = x !== undefined && g !== undefined ? x / g : undefined;
    rows.push([`(a) cold build, qemu-xen + SeaBIOS, -j${res.options.jobs}${runsNote(f.a)}`, fmtSeconds(x), fmtSeconds(g), fmtRatio(r), "≤ 0.75", yes(r === undefined ? undefined : r <= 0.75), loadOf(f.a)]);
    const xc = f.a.xqbuild?.median?.cpu;
    const gc = f.a.glue?.median?.cpu;
    rows.push(["(a) … CPU of the whole build (user+sys)", fmtSeconds(xc), fmtSeconds(gc), fmtRatio(xc !== undefined && gc !== undefined ? xc / gc : undefined), "", "", ""]);
    rows.push(["(a) … bytes received", fmtBytes(f.a.xqbuild?.median?.bytes), fmtBytes(f.a.glue?.median?.bytes), fmtRatio(ratioOf(f.a, "bytes")), "", "", ""]);
  }
  if (f.b) {
    const x = f.b.xqbuild?.median?.wall;
    const g = f.b.glue?.median?.wall;
    const r = x !== undefined && g !== undefined ? x / g : undefined;
    const ok = x === undefined || r === undefined ? undefined : x < 0.5 && r <= 1 / 40;
    rows.push([`(b) rerun, nothing changed${runsNote(f.b)}`, fmtSeconds(x), fmtSeconds(g), fmtRatio(r), "< 0.5 s and ≤ 1/40", yes(ok), loadOf(f.b)]);
  }
  if (f.c) {
    const x = f.c.xqbuild?.median?.wall;
    const g = f.c.glue?.median?.wall;
    rows.push([`(c) rerun after one extra cflag${runsNote(f.c)}`, fmtSeconds(x), fmtSeconds(g), fmtRatio(x !== undefined && g !== undefined ? x / g : undefined), "", "", loadOf(f.c)]);
  }
  if (f.d) {
    const rt = ratioOf(f.d, "wall");
    const rb = ratioOf(f.d, "bytes");
    rows.push([`(d) second tree: fetch, time${runsNote(f.d)}`, fmtSeconds(f.d.xqbuild?.median?.wall), fmtSeconds(f.d.glue?.median?.wall), fmtRatio(rt), "≤ 0.20", yes(rt === undefined ? undefined : rt <= 0.2), loadOf(f.d)]);
    const fl = f.d.floor?.median?.wall;
    const gw = f.d.glue?.median?.wall;
    if (fl !== undefined) rows.push([`(d) … floor: writing the same files with tar -x${runsNote({ xqbuild: f.d.floor })}`, fmtSeconds(fl), "", gw !== undefined ? `${fmtRatio(fl / gw)} of the glue's` : "—", "", "", ""]);
    const xw = f.d.xqbuild?.median?.wall;
    if (fl !== undefined && xw !== undefined && gw !== undefined && gw > fl) {
      // What each tool spends beyond writing the files: the part a tool can make faster.
      rows.push(["(d) … above the floor", fmtSeconds(Math.max(0, xw - fl)), fmtSeconds(gw - fl), fmtRatio(Math.max(0, xw - fl) / (gw - fl)), "", "", ""]);
    }
    rows.push(["(d) second tree: fetch, bytes received", fmtBytes(f.d.xqbuild?.median?.bytes), fmtBytes(f.d.glue?.median?.bytes), fmtRatio(rb), "≤ 0.20", yes(rb === undefined ? undefined : rb <= 0.2), ""]);
  }
  if (f.e) {
    const m = f.e.median ?? {};
    rows.push([
      `(e) xqbuild's own CPU / the cold build's${f.e.samples?.length ? ` (n=${f.e.samples.length})` : ""}`,
      m.ownCpu !== undefined ? `${fmtSeconds(m.ownCpu)} / ${fmtSeconds(m.totalCpu)}` : "—",
      "",
      m.fraction !== undefined ? `${(m.fraction * 100).toFixed(2)} %` : "—",
      "< 1 %",
      yes(m.fraction === undefined ? undefined : m.fraction < 0.01),
      ""
    ]);
    rows.push(["(e) xqbuild's peak RSS", m.maxRssMb !== undefined ? `${m.maxRssMb.toFixed(0)} MB` : "—", "", "", "< 150 MB", yes(m.maxRssMb === undefined ? undefined : m.maxRssMb < 150), ""]);
  }
  if (f.f) {
    const x = f.f.xqbuild?.median?.wall;
    const a = f.a?.xqbuild?.median?.wall;
    const r = x !== undefined && a !== undefined ? x / a : undefined;
    rows.push([`(f) fresh tree, warm cache: all + install${runsNote(f.f)}`, fmtSeconds(x), "", r !== undefined ? `${fmtRatio(r)} of (a)` : "—", "≤ 0.05 of (a)", yes(r === undefined ? undefined : r <= 0.05), loadOf(f.f)]);
  }
  if (f.g?.notMeasured) {
    rows.push(["(g) move to the next stable point release: update + rebuild", "not measured", "", "—", "≤ 0.30", "—", ""]);
  } else if (f.g) {
    const x = f.g.xqbuild?.median?.wall;
    const g = f.g.glue?.median?.wall;
    const r = x !== undefined && g !== undefined ? x / g : undefined;
    rows.push([`(g) move to the next stable point release: update + rebuild${runsNote(f.g)}`, fmtSeconds(x), fmtSeconds(g), fmtRatio(r), "≤ 0.30", yes(r === undefined ? undefined : r <= 0.3), loadOf(f.g)]);
    const xc = f.g.xqbuild?.median?.cpu;
    const gc = f.g.glue?.median?.cpu;
    rows.push(["(g) … CPU (user+sys)", fmtSeconds(xc), fmtSeconds(gc), fmtRatio(xc !== undefined && gc !== undefined ? xc / gc : undefined), "", "", ""]);
    const i = f.g.installed;
    rows.push(["(g) … installed files identical to the glue's", i ? `${i.ours} files` : "—", i ? `${i.files} files` : "—", "", "byte for byte", yes(i ? i.differCount === 0 && i.ours === i.files : undefined), ""]);
  }
  if (f.h) {
    const x = f.h.xqbuild?.median?.wall;
    const a = f.a?.xqbuild?.median?.wall;
    const r = x !== undefined && a !== undefined ? x / a : undefined;
    rows.push([`(h) fresh CI runner, warm remote cache: all + install${runsNote(f.h)}`, fmtSeconds(x), "", r !== undefined ? `${fmtRatio(r)} of (a)` : "—", "≤ 0.05 of (a)", yes(r === undefined ? undefined : r <= 0.05), loadOf(f.h)]);
    rows.push(["(h) … bytes received: git server + remote cache", `${fmtBytes(f.h.xqbuild?.median?.bytes)} + ${fmtBytes(f.h.xqbuild?.median?.remoteBytes)}`, "", "", "", "", ""]);
  }
  return rows;
}

function ratioOf(fig, key) {
  const x = fig?.xqbuild?.median?.[key];
  const g = fig?.glue?.median?.[key];
  return x !== undefined && g !== undefined && g > 0 ? x / g : undefined;
}

export function markdown(res) {
  const m = res.machine;
  const lines = [];
  lines.push(`## xqbuild vs Xen ${res.sources.xenVersion ?? "4.17"}'s make glue — ${res.startedAt}`);
  lines.push("");
  if (res.sources.title) {
    lines.push(`Release ${res.sources.release}: ${res.sources.title}.`);
    lines.push("");
  }
  lines.push(
    `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB; ${m.node}, ${m.git}, ${m.make}, ${m.gcc}. ` +
      `Load average at the start ${res.load.start.map((x) => x.toFixed(2)).join(" ")}, at the end ${res.load.end?.map((x) => x.toFixed(2)).join(" ") ?? "?"}. ` +
      `xqbuild ${res.xqbuild.version} (${res.xqbuild.commit?.slice(0, 10) ?? "?"}${res.xqbuild.dirty ? ", uncommitted changes" : ""}). ` +
      `Medians; --runs ${res.options.runs}, --cold-runs ${res.options.coldRuns}; ${Math.round(res.durationMin)} min in all.`
  );
  lines.push("");
  lines.push("| figure | xqbuild | glue | xqbuild/glue | goal | met | load while running (xqbuild / glue) |");
  lines.push("|---|---|---|---|---|---|---|");
  for (const r of tableRows(res)) lines.push(`| ${r.join(" | ")} |`);
  if (res.observations.length) {
    lines.push("");
    lines.push("What each tool did:");
    lines.push("");
    for (const o of res.observations) lines.push(`- ${o}`);
  }
  if (res.errors.length) {
    lines.push("");
    lines.push("Errors:");
    lines.push("");
    for (const e of res.errors) lines.push(`- ${e}`);
  }
  return `${lines.join("\n")}\n`;
}
