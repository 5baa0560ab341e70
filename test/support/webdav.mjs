// The real nginx with its WebDAV module on loopback: the remote artifact cache of the tests
// (TypeScript, through webdav.d.mts and servers.ts) and of the bench (plain Node): one copy.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { HOST, freePort, killChild, track, untilListening } from "./loopback.mjs";


const NGINX = "/usr/sbin/nginx";

/** A path as an nginx config string: double-quoted, with the characters nginx treats specially escaped. */
function nginxQuote(p) {
  if ([...p].some((c) => c.charCodeAt(0) < 0x20)) throw new Error(`startWebDav: control character in path ${JSON.stringify(p)}`);
  return `"${p.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

/**
 * Serves root over HTTP on 127.0.0.1 (a free port) with the real nginx and its WebDAV module: GET,
 * HEAD, and PUT/DELETE (with create_full_put_path, no body size limit) unless readOnly, in which case
 * every method but GET and HEAD is answered 403. nginx runs in the foreground as a single process
 * (master_process off, so that files it writes belong to the user running the tests) with its
 * config, pid file, logs and temp directories in a fresh temp directory. Resolves once it accepts
 * connections; tries a few ports if nginx cannot bind.
 */
export async function startWebDav(root, opts = {}) {
  const docRoot = path.resolve(root);
  const attempts = opts.attempts ?? 5;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  if (!existsSync(NGINX)) {
    throw new Error(`startWebDav: ${NGINX} is missing: install it with \`apt-get install -y nginx\` (npm run sources does, as a build dependency)`);
  }
  mkdirSync(docRoot, { recursive: true });
  const failures = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-nginx-"));
    const q = (name) => nginxQuote(path.join(dir, name));
    const errorLog = path.join(dir, "error.log");
    const conf = [
      "daemon off;",
      "master_process off;",
      "worker_processes 1;",
      `pid ${q("nginx.pid")};`,
      `error_log ${nginxQuote(errorLog)} info;`,
      "events { worker_connections 128; }",
      "http {",
      `  access_log ${q("access.log")};`,
      `  client_body_temp_path ${q("client_body")};`,
      `  proxy_temp_path ${q("proxy")};`,
      `  fastcgi_temp_path ${q("fastcgi")};`,
      `  uwsgi_temp_path ${q("uwsgi")};`,
      `  scgi_temp_path ${q("scgi")};`,
      "  default_type application/octet-stream;",
      "  server {",
      `    listen ${HOST}:${port};`,
      `    root ${nginxQuote(docRoot)};`,
      "    client_max_body_size 0;",
      "    location / {",
      "      dav_methods PUT DELETE;",
      "      create_full_put_path on;",
      "      dav_access user:rw group:r all:r;",
      ...(opts.readOnly ? ["      limit_except GET HEAD { deny all; }"] : []),
      "    }",
      "  }",
      "}",
      "",
    ].join("\n");
    writeFileSync(path.join(dir, "nginx.conf"), conf);
    // -e: the error log before the config is read (the compiled-in one is stderr on Debian).
    const child = spawn(NGINX, ["-p", `${dir}/`, "-c", path.join(dir, "nginx.conf"), "-e", errorLog], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    track(child);
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (d) => {
      stderr = (stderr + d).slice(-65536);
    });
    let spawnError;
    child.on("error", (e) => {
      spawnError = e;
    });
    const readLog = () => {
      try {
        return readFileSync(errorLog, "utf8").slice(-65536);
      } catch {
        return "";
      }
    };
    const ready = await untilListening(child, port, readyTimeoutMs, () => spawnError);
    if (spawnError) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cannot start nginx: ${spawnError.message}`);
    }
    if (ready) {
      let stopped;
      const stop = async () => {
        await killChild(child);
        rmSync(dir, { recursive: true, force: true });
      };
      return {
        url: `http://${HOST}:${port}`,
        port,
        root: docRoot,
        errorLog: () => readLog() + stderr,
        stop: () => (stopped ??= stop()),
      };
    }
    await killChild(child);
    const why = (readLog() + stderr).trim();
    failures.push(`port ${port}: ${why || `exit ${child.exitCode ?? child.signalCode ?? "?"} (not ready after ${readyTimeoutMs} ms)`}`);
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`nginx did not start after ${attempts} attempts:\n${failures.join("\n")}`);
}
