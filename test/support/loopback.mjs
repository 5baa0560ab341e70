// Loopback helpers shared by the tests (TypeScript, through loopback.d.mts) and the bench (plain
// Node, which cannot import the TypeScript support files): one copy of each.
import net from "node:net";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";

/** Every test and bench server listens here, and only here. */
export const HOST = "127.0.0.1";

/** A port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port (within a second). */
export function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    sock.setTimeout(1000);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("timeout", () => {
      sock.destroy();
      resolve(false);
    });
    sock.once("error", () => resolve(false));
  });
}

/** Whether a child process has exited (or was ended by a signal). */
export function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Every child the test and bench servers started and that has not exited yet. */
const live = new Set();

/** Remembers a server's child, so that a test file or bench that ends without stopping it leaves no process behind. */
export function track(child) {
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));
}

process.once("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
  }
});

/** Ends a child: SIGTERM, SIGKILL after graceMs; resolves when it has exited. */
export async function killChild(child, graceMs = 3000) {
  if (child.pid === undefined || exited(child)) return;
  const done = new Promise((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await done;
  clearTimeout(timer);
}

/**
 * Waits for a server child to listen on 127.0.0.1:port: true once something answers there while the
 * child is still running (the port was free a moment ago, so what answers is that child, unless it
 * just died); false when it exits, failed to spawn (failure() returns its error), or timeoutMs passes.
 */
export async function untilListening(child, port, timeoutMs, failure) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (failure() || exited(child)) return false;
    if (await canConnect(port)) return !exited(child);
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
