// Loopback helpers shared by the tests (TypeScript, through loopback.d.mts) and the bench (plain
// Node, which cannot import the TypeScript support files): one copy of each.
import net from "node:net";

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
