// unix: sockets over real sockets, on every target: a client on a unix listener reads as
// `unix:` ($remote_addr, allow unix:), proxy_pass unix:/path and an upstream's unix server
// reach a backend on a unix socket, and $upstream_addr names it.
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { freePorts } from "../support/backends.ts";
import { startStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

/** Sends nothing, reads until the server closes. */
function readAll(options: net.NetConnectOpts): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options);
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", reject);
    socket.on("close", () => resolve(text));
  });
}

for (const target of TARGETS) {
  describe(`unix sockets on ${target}`, () => {
    test("listen, proxy_pass and upstream servers on unix:", { timeout: 30_000 }, async () => {
      const dir = tempDir();
      const backendPath = join(dir, "backend.sock");
      const frontPath = join(dir, "front.sock");
      const backend = net.createServer((s) => s.end("from the unix backend\n"));
      await new Promise<void>((r) => backend.listen(backendPath, r));
      const [direct, viaUpstream] = (await freePorts(2)) as [number, number];
      const file = writeConfig(
        `error_log stderr info;
events {}
stream {
    upstream u { server unix:${backendPath}; }
    server { listen unix:${frontPath}; return "$remote_addr|$server_port|"; allow unix:; deny all; }
    server { listen 127.0.0.1:${direct}; proxy_pass unix:${backendPath}; }
    server { listen 127.0.0.1:${viaUpstream}; proxy_pass u; }
}
`,
        "streamlb.conf",
      );
      const lb = await startStreamlb(target, file);
      try {
        assert.equal(await readAll({ path: frontPath }), "unix:||");
        assert.equal(await readAll({ port: direct, host: "127.0.0.1" }), "from the unix backend\n");
        assert.equal(await readAll({ port: viaUpstream, host: "127.0.0.1" }), "from the unix backend\n");
        assert.match(lb.log(), new RegExp(`proxy unix: connected to unix:${backendPath.replace(/[.]/g, "\\.")}\n`));
      } finally {
        await lb.stop();
        await new Promise<void>((r) => backend.close(() => r()));
      }
    });
  });
}
