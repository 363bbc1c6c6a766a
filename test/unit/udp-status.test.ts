// A UDP listener through the balancer, on an in-memory datagram runtime: sessions counted on
// its listener, the access log's $protocol, and what /status and /metrics say of it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Balancer } from "../../src/core/balancer.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import type { Logger } from "../../src/core/log.ts";
import { renderMetrics } from "../../src/core/metrics.ts";
import { snapshot } from "../../src/core/status.ts";
import { FakeDatagrams, settle } from "../support/fake-datagrams.ts";

const CONFIG = `events { worker_connections 3; }
stream {
    server { listen 127.0.0.1:5300 udp; proxy_pass 127.0.0.1:7001; proxy_responses 1; }
}
`;

describe("UDP listener in the balancer, /status and /metrics", () => {
  test("sessions, drops past worker_connections, and the listener's protocol", async () => {
    const fake = new FakeDatagrams();
    const lines: string[] = [];
    const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
    const balancer = new Balancer(fake.runtime, logger);
    await balancer.apply(loadNginxConfig(CONFIG, "t.conf").config);
    const client = (port: number, data: string) => fake.deliver!(new TextEncoder().encode(data), "127.0.0.1", port);

    client(50001, "q1");
    await settle();
    assert.equal(balancer.activeSessions, 1);
    // worker_connections 3: the listener and one session (client + upstream) take them all,
    // so a second client's datagram is dropped, with nginx's alert.
    client(50002, "q2");
    await settle();
    assert.equal(fake.sockets.length, 1);
    assert.ok(lines.includes("[alert] 3 worker_connections are not enough"));
    fake.sockets[0]!.reply("a1");
    assert.equal(balancer.activeSessions, 0);

    const status = snapshot({
      version: "t",
      runtime: { name: "node", version: "t", pid: 1 },
      startedMs: Date.now(),
      accepting: true,
      balancer,
    });
    assert.deepEqual(status.listeners.map((l) => ({ ...l })), [{
      listen: "127.0.0.1:5300 udp",
      address: "127.0.0.1:5300",
      upstream: "127.0.0.1:7001",
      protocol: "udp",
      datagrams_dropped: 1,
      // The dropped client never started a session.
      connections: { total: 1, active: 0 },
      sessions: { 200: 1, 400: 0, 403: 0, 500: 0, 502: 0, 503: 0 },
      bytes: { received: 2, sent: 2 },
    }]);
    const metrics = renderMetrics(status);
    assert.match(
      metrics,
      /^streamlb_listener_datagrams_dropped_total\{listener="127\.0\.0\.1:5300",upstream="127\.0\.0\.1:7001",protocol="udp"\} 1$/m,
    );
    assert.match(metrics, /^streamlb_listener_sessions_total\{[^}]*protocol="udp",status="200"\} 1$/m);
    await balancer.close();
  });

  test("UDP sessions run the server's phases and content: set, deny, return as one datagram", async () => {
    const fake = new FakeDatagrams();
    const logger: Logger = { enabled: () => true, log: () => undefined };
    const balancer = new Balancer(fake.runtime, logger);
    const config = `events {}
stream {
    server {
        listen 127.0.0.1:5300 udp;
        deny 127.0.0.9;
        set $greeting "hi";
        return "$greeting $protocol $remote_addr:$remote_port";
    }
}
`;
    await balancer.apply(loadNginxConfig(config, "t.conf").config);
    fake.deliver!(new TextEncoder().encode("q"), "127.0.0.1", 50001);
    fake.deliver!(new TextEncoder().encode("q"), "127.0.0.9", 50002);
    await settle();
    assert.deepEqual(
      fake.toClients.map((d) => [d.address, d.port, new TextDecoder().decode(d.data)]),
      [["127.0.0.1", 50001, "hi UDP 127.0.0.1:50001"]],
    );
    assert.equal(fake.sockets.length, 0, "return opens no upstream socket");
    assert.equal(balancer.activeSessions, 0);
    const status = snapshot({
      version: "t",
      runtime: { name: "node", version: "t", pid: 1 },
      startedMs: Date.now(),
      accepting: true,
      balancer,
    });
    assert.equal(status.listeners[0]!.sessions[200], 1);
    assert.equal(status.listeners[0]!.sessions[403], 1);
    await balancer.close();
  });
});
