// proxy_bind over real sockets, on every target: the backend sees the configured loopback
// address, or the client's own with `proxy_bind $remote_addr`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { firstLine, freePorts, startBackend } from "../support/backends.ts";
import { startStreamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

for (const target of TARGETS) {
  describe(`proxy_bind on ${target}`, () => {
    test("the upstream socket's local address is the one configured", { timeout: 30_000 }, async () => {
      // The backend answers with the address the connection came from.
      const backend = await startBackend("peer", 0, (s) => s.end(`${s.remoteAddress}\n`));
      const [fixed, fromClient] = (await freePorts(2)) as [number, number];
      const file = writeConfig(
        `error_log stderr notice;
events {}
stream {
    proxy_bind 127.0.0.2;
    server { listen 127.0.0.1:${fixed}; proxy_pass ${backend.address}; }
    server { listen 127.0.0.1:${fromClient}; proxy_pass ${backend.address}; proxy_bind $remote_addr; }
}
`,
        "streamlb.conf",
      );
      const lb = await startStreamlb(target, file);
      try {
        assert.equal(await firstLine(fixed), "127.0.0.2");
        assert.equal(await firstLine(fromClient, "127.0.0.1", "127.0.0.7"), "127.0.0.7");
      } finally {
        await lb.stop();
        await backend.close();
      }
    });
  });
}
