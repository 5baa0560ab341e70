// The one TCP proxy of the tests and the bench, on 127.0.0.1 in front of a loopback server (git
// daemon, nginx): it counts connections and the bytes in each direction (the bench's network
// figures), and on demand cuts connections after N bytes of the server's answer (a dropped
// connection mid-pack) or throttles that answer (the fault suite). Plain Node, typed by
// tcp-proxy.d.mts, since the bench cannot import the TypeScript support files.
import net from "node:net";
import { setTimeout } from "node:timers";
import { HOST } from "./loopback.mjs";

/** Listens on 127.0.0.1:listenPort (0: a free port) and passes each connection on to 127.0.0.1:targetPort. */
export async function startProxy(targetPort, faults = {}, listenPort = 0) {
  const sockets = new Set();
  let connections = 0;
  let cuts = 0;
  let serverBytes = 0;
  let clientBytes = 0;
  const f = { ...faults };
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect({ host: HOST, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    let sent = 0;
    let cutThis = false;
    const queue = [];
    let pumping = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on("close", () => {
      sockets.delete(upstream);
      if (queue.length === 0) client.end();
    });
    client.on("data", (d) => {
      clientBytes += d.length;
      upstream.write(d);
    });
    const deliver = (chunk) => {
      const limit = f.cutAfterBytes;
      if (limit !== undefined && (f.cutConnections === undefined || cuts < f.cutConnections || cutThis) && sent + chunk.length > limit) {
        if (!cutThis) cuts++;
        cutThis = true;
        const part = chunk.subarray(0, Math.max(0, limit - sent));
        sent += part.length;
        serverBytes += part.length;
        client.write(part, () => {
          client.resetAndDestroy();
          upstream.destroy();
        });
        return false;
      }
      sent += chunk.length;
      serverBytes += chunk.length;
      client.write(chunk);
      return true;
    };
    const pump = () => {
      if (pumping) return;
      pumping = true;
      const step = () => {
        const chunk = queue.shift();
        if (!chunk || client.destroyed) {
          pumping = false;
          upstream.resume();
          if (upstream.destroyed && !client.destroyed) client.end();
          return;
        }
        const bps = f.bytesPerSecond;
        if (!bps) {
          if (deliver(chunk)) step();
          else queue.length = 0;
          return;
        }
        const slice = Math.max(1, Math.floor(bps / 20));
        if (chunk.length > slice) queue.unshift(chunk.subarray(slice));
        if (!deliver(chunk.subarray(0, slice))) {
          queue.length = 0;
          pumping = false;
          return;
        }
        setTimeout(step, 50);
      };
      step();
    };
    upstream.on("data", (d) => {
      queue.push(d);
      upstream.pause();
      pump();
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, HOST, () => resolve());
  });
  const port = server.address().port;
  let stopped;
  return {
    port,
    url: (name) => `git://${HOST}:${port}/${name}`,
    faults: f,
    get connections() {
      return connections;
    },
    get cuts() {
      return cuts;
    },
    get serverBytes() {
      return serverBytes;
    },
    get clientBytes() {
      return clientBytes;
    },
    stop: () =>
      (stopped ??= (async () => {
        for (const s of sockets) s.destroy();
        await new Promise((r) => server.close(() => r()));
      })()),
  };
}
