// The loopback "xenbits" of the bench: `git daemon` serving the fake xenbits, and in front of it a
// counting TCP proxy, so that every byte either tool receives from the network is counted in one
// place, whatever git command (clone, fetch, ls-remote, submodule update) asked for it.
import { startGitDaemon as startDaemon } from "../../test/support/git-daemon.mjs";
import { HOST, freePort } from "../../test/support/loopback.mjs";
import { startProxy } from "../../test/support/tcp-proxy.mjs";

export { HOST, freePort };

/** Starts `git daemon` on HOST:port serving dir (test/support/git-daemon.mjs, the one starter); resolves once it accepts connections. */
export async function startGitDaemon(dir, port, logFile, env) {
  const daemon = await startDaemon(dir, { port, logFile, env, informativeErrors: true });
  return { pid: daemon.pid, stop: daemon.stop };
}

/**
 * A TCP proxy on HOST:listenPort to HOST:targetPort that counts connections and bytes in each
 * direction (test/support/tcp-proxy.mjs, the one proxy). `down` is what the clients received (the
 * server's packs), `up` what they sent.
 */
export async function startCountingProxy(listenPort, targetPort) {
  const proxy = await startProxy(targetPort, {}, listenPort);
  return {
    port: proxy.port,
    snapshot: () => ({ connections: proxy.connections, down: proxy.serverBytes, up: proxy.clientBytes }),
    close: proxy.stop,
  };
}
