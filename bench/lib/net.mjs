// The loopback "xenbits" of the bench: `git daemon` serving the fake xenbits, and in front of it a
// counting TCP proxy, so that every byte either tool receives from the network is counted in one
// place, whatever git command (clone, fetch, ls-remote, submodule update) asked for it.
import net from "node:net";
import { startGitDaemon as startDaemon } from "../../test/support/git-daemon.mjs";
import { HOST, freePort } from "../../test/support/loopback.mjs";

export { HOST, freePort };

/** Starts `git daemon` on HOST:port serving dir (test/support/git-daemon.mjs, the one starter); resolves once it accepts connections. */
export async function startGitDaemon(dir, port, logFile, env) {
  const daemon = await startDaemon(dir, { port, logFile, env, informativeErrors: true });
  return { pid: daemon.pid, stop: daemon.stop };
}

/**
 * A TCP proxy on HOST:listenPort to HOST:targetPort that counts connections and bytes in each
 * direction. `down` is what the clients received (the server's packs), `up` what they sent.
 */
export function startCountingProxy(listenPort, targetPort) {
  const counters = { connections: 0, down: 0, up: 0 };
  const sockets = new Set();
  const srv = net.createServer((client) => {
    counters.connections++;
    const server = net.connect({ host: HOST, port: targetPort });
    sockets.add(client);
    sockets.add(server);
    client.on("data", (b) => {
      counters.up += b.length;
    });
    server.on("data", (b) => {
      counters.down += b.length;
    });
    client.pipe(server);
    server.pipe(client);
    const done = () => {
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
    };
    client.on("error", done);
    server.on("error", done);
    client.on("close", done);
    server.on("close", done);
  });
  return new Promise((resolve, reject) => {
    srv.on("error", reject);
    srv.listen(listenPort, HOST, () =>
      resolve({
        port: listenPort,
        snapshot: () => ({ ...counters }),
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            srv.close(() => r());
          })
      })
    );
  });
}
