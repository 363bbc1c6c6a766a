// `proxy_pass $var` per session, through the routes the balancer builds: what each value
// gives ($status and the error line), as nginx's ngx_stream_proxy_handler decides it. A value
// that names no reachable target is the session's own failure (500), never an upstream's (502).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { ConnectionBudget } from "../../src/core/connections.ts";
import type { Logger } from "../../src/core/log.ts";
import { buildRoutes } from "../../src/core/routes.ts";
import { type ClientConnection, ConnectFailure, type RelayResult, type RelaySink, type Runtime } from "../../src/core/runtime.ts";
import { Session } from "../../src/core/session.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";

const CONFIG = `events {}
stream {
    upstream u { server 127.0.0.1:7001; }
    map $server_port $target {
        8001 example.com:$remote_port;
        8002 example.com;
        8003 127.0.0.1:7002;
        8004 u;
        8005 127.0.0.1:7009;
    }
    server { listen 127.0.0.1:8001; proxy_pass $target; }
    server { listen 127.0.0.1:8002; proxy_pass $target; }
    server { listen 127.0.0.1:8003; proxy_pass $target; }
    server { listen 127.0.0.1:8004; proxy_pass $target; }
    server { listen 127.0.0.1:8005; proxy_pass $target; proxy_next_upstream off; }
}
`;

function harness() {
  const config = loadNginxConfig(CONFIG, "in.conf").config;
  const lines: string[] = [];
  const attempts: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const conn = (port: number) =>
    ({ remoteAddress: "127.0.0.1", remotePort: 40000, localAddress: "127.0.0.1", localPort: port, close() {} }) as never;
  const result: RelayResult = {
    end: "client_closed",
    bytesFromClient: 0,
    bytesToClient: 0,
    bytesFromUpstream: 0,
    bytesToUpstream: 0,
  };
  const runtime = {
    async connect(t: { host: string; port: number }) {
      attempts.push(`${t.host}:${t.port}`);
      if (t.port === 7009) throw new ConnectFailure("refused", "ECONNREFUSED", "Connection refused");
      return conn(t.port);
    },
    relay: (_c: unknown, _u: unknown, _o: unknown, sink: RelaySink) => sink.relayEnded(result),
  } as unknown as Runtime;
  const upstreams = new Map([...config.stream.upstreams].map(([name, u]) => [name, new Upstream(u)]));
  // No resolver: `names` is null, as when stream{} has no `resolver`.
  const routes = buildRoutes(config, upstreams, compileStreamVariables(config.stream), { forServer: () => null }, null);
  const budget = new ConnectionBudget(logger, false);
  budget.configure(512, 1);
  let id = 1;
  const run = (port: number) =>
    new Session(id++, conn(port) as ClientConnection, routes.get(`127.0.0.1:${port}`)!, runtime, logger, budget).run();
  return { lines, attempts, run };
}

describe("proxy_pass $var", () => {
  test("a host name with no resolver: 500 and nginx's line, no connect", async () => {
    const h = harness();
    const out = await h.run(8001);
    assert.equal(out.status, 500);
    assert.deepEqual(h.attempts, []);
    assert.ok(h.lines.some((l) => l.startsWith("[error] *1 no resolver defined to resolve example.com")), h.lines.join("\n"));
  });

  test("a value with no port: 500 and nginx's line", async () => {
    const h = harness();
    const out = await h.run(8002);
    assert.equal(out.status, 500);
    assert.deepEqual(h.attempts, []);
    assert.ok(h.lines.some((l) => l.startsWith(`[error] *1 no port in upstream "example.com"`)), h.lines.join("\n"));
  });

  test("an address or an upstream's name is proxied (200); a refused address is the upstream's failure (502)", async () => {
    const h = harness();
    assert.equal((await h.run(8003)).status, 200);
    assert.equal((await h.run(8004)).status, 200);
    assert.equal((await h.run(8005)).status, 502);
    assert.deepEqual(h.attempts, ["127.0.0.1:7002", "127.0.0.1:7001", "127.0.0.1:7009"]);
  });
});
