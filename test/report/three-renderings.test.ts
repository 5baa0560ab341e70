// One recorded event stream (fixtures/recorded-stream.json: every event type; a fetch with progress,
// a cache hit, a success, a failing stage, an interrupted stage, an error) fed to the three
// reporters: the plain lines of CI, NDJSON (--json) and the live view's frames. Then the parts the
// reporters share: which output line is meaningful, and the plain reporter's heartbeat.
import { readFileSync } from "node:fs";
import { describe, expect, it, onTestFinished } from "vitest";
import type { XqEvent, XqEventType } from "../../src/report/events.js";
import { memoryOutput } from "../../src/report/output.js";
import { errorText, jsonReporter, plainReporter } from "../../src/report/plain.js";
import { ttyReporter } from "../../src/report/tty.js";
import { elapsed, isMeaningful } from "../../src/report/lines.js";

const STREAM = JSON.parse(readFileSync(new URL("./fixtures/recorded-stream.json", import.meta.url), "utf8")) as XqEvent[];
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every event type, by name: a type added to the union and missing here fails to compile. */
const EVERY_TYPE: Record<XqEventType, true> = {
  "run-start": true,
  "stage-start": true,
  "stage-skip": true,
  "stage-done": true,
  "stage-fail": true,
  "stage-stop": true,
  output: true,
  progress: true,
  "fetch-start": true,
  "fetch-done": true,
  resolved: true,
  "lock-wait": true,
  cache: true,
  message: true,
  error: true,
  "run-end": true,
};

/** Whether `lines` holds each of `expected`, in that order (other lines may come between). */
function inOrder(lines: readonly string[], expected: readonly string[]): void {
  let at = 0;
  for (const want of expected) {
    const found = lines.indexOf(want, at);
    expect(found, `"${want}" after line ${at} of:\n${lines.join("\n")}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

describe("one recorded stream, three renderings", () => {
  it("covers every event type", () => {
    expect(new Set(STREAM.map((e) => e.type))).toEqual(new Set(Object.keys(EVERY_TYPE)));
  });

  it("plain: one line per happening, component and stage first; no output lines without -v", async () => {
    const o = memoryOutput();
    const r = plainReporter(o, { verbose: false, quiet: false, heartbeatSeconds: 0 });
    for (const e of STREAM) r.emit(e);
    await r.close();
    const lines = o.stderr.flatMap((t) => t.split("\n"));
    inOrder(lines, [
      "xqbuild all: qemu-xen, seabios, qemu-xen-traditional (jobs: 2)",
      "[seabios cache] hit (local, 0123456789ab): built 2 days ago",
      "[seabios build] in the artifact cache (0123456789ab); install restores it",
      "[qemu-xen configure] started",
      "[qemu-xen configure] done in 3.4 s",
      "[qemu-xen build] started (ninja -j2)",
      "[qemu-xen build] FAILED: qemu-xen build (ninja) failed with exit code 1.",
      "[qemu-xen-traditional build] started (make)",
      "[qemu-xen-traditional build] stopped by SIGINT after 1.5 s",
      "qemu-xen: warning: CONFIG_QEMUU_EXTRA_ARGS adds --enable-vnc",
      "xqbuild: error: qemu-xen build (ninja) failed with exit code 1.",
      "See the full log.",
      "xqbuild: interrupted in 25.3 s",
    ]);
    expect(lines.join("\n")).not.toMatch(/broken|\^~/);
    expect(o.stdout).toEqual([]);
  });

  it("NDJSON: every event on stdout, one a line, and each reads back as the event it was", async () => {
    const o = memoryOutput();
    const r = jsonReporter(o);
    for (const e of STREAM) r.emit(e);
    await r.close();
    // Only the error's paragraph goes to stderr too (as cargo's --message-format=json does).
    expect(o.stderr).toEqual(STREAM.filter((e) => e.type === "error").map((e) => errorText(o, e)));
    const back = o.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of back) expect(typeof e.time).toBe("string");
    expect(back.map(({ time: _time, ...e }) => e)).toEqual(STREAM);
  });

  it("the live view: running lines with progress and the last meaningful line; marks that do not lie; messages above it as they come; errors and the end below", async () => {
    const o = memoryOutput();
    const r = ttyReporter(o);
    // As a run arrives: listr2 starts its tasks asynchronously, and draws what it has between events.
    r.emit(STREAM[0] as XqEvent);
    await sleep(300);
    for (const e of STREAM.slice(1)) {
      r.emit(e);
      await sleep(30);
    }
    await r.close();
    const drawn = o.raws.join("");
    const frames = drawn.replace(ANSI, "");
    // While it ran: the fetch with git's percentage, bytes and rate; the build with its bar and [N/M].
    expect(frames).toMatch(/qemu-xen: fetching its source… 45% 12\.0 MiB 2\.1 MiB\/s/);
    expect(frames).toMatch(/qemu-xen: build… \(-j2\) 0s ▕████░░░░░░▏ 812\/1800 45%/);
    expect(frames).toMatch(/› \.\.\/include\/hw\/xen\/xen\.h:3:5: error: unknown type name 'broken'/);
    // The compiler's gutter, caret and include-chain lines are never the line shown.
    expect(frames).not.toMatch(/› *(\||\^|~|\d+ \||In file included)/);
    // The view's last frame (after its last erase) and what is printed below it.
    const last = (drawn.split("\u001b[2K").at(-1) ?? "").replace(ANSI, "").split("\n");
    inOrder(last, [
      "✖ qemu-xen: build failed",
      "  › ../include/hw/xen/xen.h:3:5: error: unknown type name 'broken'",
      "⊘ qemu-xen-traditional: build stopped (SIGINT)",
      "xqbuild: error: qemu-xen build (ninja) failed with exit code 1.",
      "See the full log.",
      "xqbuild: interrupted in 25.3 s",
    ]);
    expect(last.some((l) => /^✔ seabios: build in the artifact cache/.test(l))).toBe(true);
    expect(last.join("\n")).not.toMatch(/✔ qemu-xen(-traditional)?:/);
    // Messages, fetch lines, lock waits and cache answers, as the plain reporter words them: each
    // printed once, as it came, above the view: written whole in the place of the frame just
    // erased, the frame drawn again below it; none below the ended view.
    const finalErase = drawn.lastIndexOf("\u001b[2K");
    for (const note of [
      "xqbuild: waiting for the lock on the tree lock, held by pid 4242",
      "qemu-xen: fetched qemu-xen-4.17.3 (e660414b8465) into tools/qemu-xen-dir-remote",
      "[seabios cache] hit (local, 0123456789ab): built 2 days ago",
      "qemu-xen: warning: CONFIG_QEMUU_EXTRA_ARGS adds --enable-vnc",
    ]) {
      expect(o.raws.filter((r) => r === `${note}\n`), note).toHaveLength(1);
      const at = o.raws.indexOf(`${note}\n`);
      expect(o.raws[at - 1]?.replace(ANSI, ""), `${note}: what comes before it only erases`).toBe("");
      expect(o.raws[at + 1]?.replace(ANSI, ""), `${note}: the view drawn again after it`).toMatch(/^([✔✖⊘◼❯]|[\u2800-\u28ff]) qemu-xen: /mu);
      expect(drawn.indexOf(`${note}\n`), note).toBeLessThan(finalErase);
      expect(last, note).not.toContain(note);
    }
    // The resolved commit is not a line of its own (the fetch line names the commit).
    expect(frames).not.toMatch(/qemu-xen-4\.17\.3 is e660414b8465/);
  });

  it("the live view gives no check to a component the failed run never reached", async () => {
    const o = memoryOutput();
    const r = ttyReporter(o);
    r.emit({ type: "run-start", command: "all", components: ["qemu-xen", "seabios"], jobs: 1, stages: ["configure", "build"] });
    r.emit({ type: "stage-start", component: "qemu-xen", stage: "configure" });
    r.emit({ type: "stage-done", component: "qemu-xen", stage: "configure", seconds: 1 });
    r.emit({ type: "stage-start", component: "seabios", stage: "build" });
    r.emit({ type: "stage-fail", component: "seabios", stage: "build", message: "seabios build (make) failed with exit code 2." });
    r.emit({ type: "run-end", ok: false, seconds: 2, exitCode: 1 });
    // The run ended before listr2 started the tasks: the view must still end (this used to spin).
    await r.close();
    const drawn = o.raws.join("");
    const last = (drawn.split("\u001b[2K").at(-1) ?? "").replace(ANSI, "");
    expect(last).toMatch(/⊘ qemu-xen: stopped after configure/);
    expect(last).toMatch(/✖ seabios: build failed\n {2}› seabios build \(make\) failed with exit code 2\./);
    expect(last).toMatch(/^xqbuild: failed in 2\.0 s$/m);
  });
});

describe("the live view's lines", () => {
  it("a warning while a stage runs is printed at once above the view, redacted, once; the view goes on below it", async () => {
    const o = memoryOutput();
    const r = ttyReporter(o);
    r.emit({ type: "run-start", command: "build", components: ["qemu-xen"], jobs: 2, stages: ["configure", "build"] });
    await sleep(300);
    r.emit({ type: "stage-start", component: "qemu-xen", stage: "configure" });
    await sleep(100);
    r.emit({ type: "message", level: "warn", component: "qemu-xen", text: "https://ann:hunter2@mirror.example/qemu-xen.git did not answer; fetching from the next URL" });
    const shown = "qemu-xen: warning: https://***@mirror.example/qemu-xen.git did not answer; fetching from the next URL\n";
    // At once, while configure still runs: not held for close().
    expect(o.raws).toContain(shown);
    const at = o.raws.indexOf(shown);
    await sleep(200);
    r.emit({ type: "stage-done", component: "qemu-xen", stage: "configure", seconds: 0.4 });
    r.emit({ type: "run-end", ok: true, seconds: 0.6, exitCode: 0 });
    await r.close();
    const drawn = o.raws.join("");
    expect(drawn).not.toContain("hunter2");
    expect(o.raws.filter((t) => t === shown)).toHaveLength(1);
    // The view drawn again below the line, still running, before it ended with its check.
    const after = o.raws.slice(at + 1).join("").replace(ANSI, "");
    expect(after).toMatch(/qemu-xen: configure… 0s[\s\S]*✔ qemu-xen: configure done \(0\.4 s\)/);
    expect(o.stderr.at(-1)).toBe("xqbuild: finished in 0.6 s");
  });

  it("on a narrow terminal the bar goes first, the numbers stay; a component with nothing to do says so", async () => {
    // A terminal of 48 columns: listr2 cuts lines at process.stdout's width (on a terminal, stdout
    // and stderr are the same one), log-update and the titles use the Output's.
    const o = { ...memoryOutput(), columns: 48 };
    const saved = Object.getOwnPropertyDescriptor(process.stdout, "columns");
    Object.defineProperty(process.stdout, "columns", { value: 48, configurable: true });
    onTestFinished(() => {
      if (saved) Object.defineProperty(process.stdout, "columns", saved);
      else delete (process.stdout as { columns?: number }).columns;
    });
    const r = ttyReporter(o);
    r.emit({ type: "run-start", command: "configure", components: ["qemu-xen", "seabios"], jobs: 2, stages: ["configure"] });
    await sleep(300);
    r.emit({ type: "stage-start", component: "qemu-xen", stage: "configure", jobs: 2 });
    r.emit({ type: "progress", component: "qemu-xen", stage: "configure", phase: "checks", done: 812, total: 1800 });
    await sleep(100);
    r.emit({ type: "stage-done", component: "qemu-xen", stage: "configure", seconds: 1 });
    r.emit({ type: "run-end", ok: true, seconds: 1, exitCode: 0 });
    await r.close();
    const frames = o.raws.join("").replace(ANSI, "");
    expect(frames).toMatch(/qemu-xen: configure… \(-j2\) 0s 812\/1800 45%/);
    expect(frames).not.toMatch(/▕/);
    expect(frames).toMatch(/✔ seabios: nothing to do/);
    expect(frames).toMatch(/✔ qemu-xen: configure done \(1\.0 s\)/);
  });
});

describe("the lines the reporters share", () => {
  it("a meaningful line is one that says something: not blank, a marker, a source excerpt or an include chain", () => {
    for (const l of ["", "   ", "   ^~~~", "|", "      |     ^~~~~~", "    3 |     broken;", "In file included from ../a.c:1:", "                 from ../b.h:2,", "-----", "..."]) expect(isMeaningful(l), JSON.stringify(l)).toBe(false);
    for (const l of ["a.c:3:5: error: x", "[12/40] Compiling C object foo.o", "make[1]: Leaving directory '/x'", "In file included from a.c:1: and more"]) expect(isMeaningful(l), l).toBe(true);
  });

  it("elapsed time as a person reads it", () => {
    expect([elapsed(0.4), elapsed(59), elapsed(150), elapsed(3725)]).toEqual(["0s", "59s", "2m30s", "1h02m"]);
  });

  it("plain: a stage still running says so at the interval, with its latest progress; the timer stops with the stage and at close", async () => {
    const o = memoryOutput();
    const r = plainReporter(o, { verbose: false, quiet: false, heartbeatSeconds: 0.2 });
    r.emit({ type: "run-start", command: "build", components: ["qemu-xen"], jobs: 2 });
    r.emit({ type: "stage-start", component: "qemu-xen", stage: "build" });
    r.emit({ type: "progress", component: "qemu-xen", stage: "build", phase: "ninja", done: 812, total: 1800 });
    await sleep(500);
    const beats = (): string[] => o.stderr.filter((l) => l.includes("still running"));
    expect(beats().length).toBeGreaterThanOrEqual(1);
    expect(beats()[0]).toBe("[qemu-xen build] still running (0s, 812/1800, 45%)");
    r.emit({ type: "stage-done", component: "qemu-xen", stage: "build", seconds: 0.5 });
    const after = beats().length;
    await sleep(500);
    expect(beats().length).toBe(after);
    // A second stage, then close without run-end: no beat once closed.
    r.emit({ type: "stage-start", component: "qemu-xen", stage: "install" });
    await r.close();
    await sleep(500);
    expect(beats().length).toBe(after);
    // A fetch beats too, with what it fetches and git's progress, until it is done.
    const f = memoryOutput();
    const fr = plainReporter(f, { verbose: false, quiet: false, heartbeatSeconds: 0.2 });
    fr.emit({ type: "fetch-start", component: "qemu-xen", what: "submodule", name: "ui/keycodemapdb" });
    fr.emit({ type: "progress", component: "qemu-xen", stage: "fetch", phase: "Receiving objects", percent: 45, bytes: 12582912, rate: 2202009 });
    await sleep(500);
    const fetchBeats = (): string[] => f.stderr.filter((l) => l.includes("still running"));
    expect(fetchBeats()[0]).toBe("[qemu-xen fetch] still running (0s, submodule ui/keycodemapdb, 45%, 12.0 MiB, 2.1 MiB/s)");
    fr.emit({ type: "fetch-done", component: "qemu-xen", what: "submodule", name: "ui/keycodemapdb", seconds: 0.5 });
    const fetched = fetchBeats().length;
    await sleep(500);
    await fr.close();
    expect(fetchBeats().length).toBe(fetched);
    // Quiet, or an interval of 0: never.
    const q = memoryOutput();
    const quiet = plainReporter(q, { verbose: false, quiet: true, heartbeatSeconds: 0.1 });
    quiet.emit({ type: "stage-start", component: "qemu-xen", stage: "build" });
    await sleep(300);
    await quiet.close();
    expect(q.stderr).toEqual([]);
  });
});
