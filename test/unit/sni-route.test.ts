// ssl_preread's server name chooses the server block among those sharing an address (nginx
// 1.25.5+, ngx_stream_ssl_preread_servername): that server's content handler, error_log and
// settings serve the session from there on, and a regex server_name's captures ($1, named
// groups) become the session's variables. Sessions run against the routes the balancer builds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import type { ServerConfig } from "../../src/core/config/model.ts";
import { ConnectionBudget } from "../../src/core/connections.ts";
import type { Logger } from "../../src/core/log.ts";
import { buildRoutes } from "../../src/core/routes.ts";
import type { ClientConnection, RelayOptions, RelayResult, RelaySink, Runtime } from "../../src/core/runtime.ts";
import { Session } from "../../src/core/session.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";
import { alpnExtension, clientHelloMessage, records, sniExtension } from "../support/client-hello-bytes.ts";

const CONFIG = `events {}
stream {
    upstream alpha { server 127.0.0.1:7001; }
    upstream beta { server 127.0.0.1:7002; }
    server {
        listen 127.0.0.1:8443;
        ssl_preread on;
        return "default $server_name\\n";
    }
    server {
        listen 127.0.0.1:8443;
        server_name a.test;
        proxy_pass alpha;
    }
    server {
        listen 127.0.0.1:8443;
        server_name *.b.test;
        proxy_pass beta;
    }
    server {
        listen 127.0.0.1:8443;
        server_name ~^(?<tenant>[a-z]+)\\.(alpha|beta)\\.tenants\\.test$;
        proxy_pass $2;
    }
    server {
        listen 127.0.0.1:8443;
        server_name ~^(?P<who>[a-z]+)\\.echo\\.test$;
        return "who=$who 1=$1 name=$server_name sni=$ssl_preread_server_name\\n";
    }
    server {
        listen 127.0.0.1:8444;
        return "no preread\\n";
    }
    server {
        listen 127.0.0.1:8444;
        server_name a.test;
        ssl_preread on;
        proxy_pass alpha;
    }
}
`;

interface Ran {
  readonly status: number;
  /** Bytes the client was sent (a `return`), as text. */
  readonly sent: string;
  /** host:port of each connect. */
  readonly connects: readonly string[];
  /** What the upstream got first (the ClientHello), as length. */
  readonly upstreamFirst: number;
  /** Lines by the error log they went to: "main" or a server's first name ("" for none). */
  readonly lines: ReadonlyMap<string, readonly string[]>;
}

function harness() {
  const config = loadNginxConfig(CONFIG, "sni.conf").config;
  const lines = new Map<string, string[]>();
  const loggerFor = (key: string): Logger => ({
    enabled: () => true,
    log: (level, m) => {
      if (!lines.has(key)) lines.set(key, []);
      lines.get(key)!.push(`[${level}] ${m}`);
    },
  });
  // Each server has an error_log of its own here, so a line says which server wrote it.
  const errorLogs = new Map<ServerConfig, Logger>(
    config.stream.servers.map((s) => [s, loggerFor(s.serverNames?.[0] ?? "")]),
  );
  const upstreams = new Map([...config.stream.upstreams].map(([name, u]) => [name, new Upstream(u)]));
  const logs = { forServer: () => null, errorLogFor: (s: ServerConfig) => errorLogs.get(s) ?? null };
  const routes = buildRoutes(config, upstreams, compileStreamVariables(config.stream), logs, null);
  const budget = new ConnectionBudget(loggerFor("main"), false);
  budget.configure(64, 1);
  let id = 1;
  return async (port: number, hello: Uint8Array): Promise<Ran> => {
    const connects: string[] = [];
    let sent = "";
    let upstreamFirst = -1;
    lines.clear();
    let delivered = false;
    const client = {
      remoteAddress: "127.0.0.1",
      remotePort: 40000,
      localAddress: "127.0.0.1",
      localPort: port,
      bytesIn: 0,
      bytesOut: 0,
      close() {},
      read: async () => (delivered ? null : ((delivered = true), hello)),
      write: async (b: Uint8Array) => void (sent += new TextDecoder().decode(b)),
    } as unknown as ClientConnection;
    const result: RelayResult = {
      end: "client_closed",
      bytesFromClient: 0,
      bytesToClient: 0,
      bytesFromUpstream: 0,
      bytesToUpstream: 0,
    };
    const runtime = {
      async connect(t: { host: string; port: number }) {
        connects.push(`${t.host}:${t.port}`);
        return { remoteAddress: t.host, remotePort: t.port, localAddress: "127.0.0.1", localPort: 50000, close() {} };
      },
      relay(_c: unknown, _u: unknown, o: RelayOptions, sink: RelaySink) {
        upstreamFirst = o.upstreamFirst?.length ?? 0;
        sink.relayEnded(result);
      },
    } as unknown as Runtime;
    const route = routes.get(`127.0.0.1:${port}`)!;
    const outcome = await new Session(id++, client, route, runtime, loggerFor("main"), budget).run();
    return { status: outcome.status, sent, connects, upstreamFirst, lines: new Map(lines) };
  };
}

const helloFor = (name: string | null) =>
  records(clientHelloMessage({ extensions: [...(name === null ? [] : [sniExtension(name)]), alpnExtension("h2")] }));

describe("ssl_preread chooses the server block by server_name", () => {
  test("an exact name and a wildcard proxy to their own server's upstream, the hello first", async () => {
    const run = harness();
    const hello = helloFor("a.test");
    const a = await run(8443, hello);
    assert.equal(a.status, 200);
    assert.deepEqual(a.connects, ["127.0.0.1:7001"]);
    assert.equal(a.upstreamFirst, hello.length);
    const b = await run(8443, helloFor("X.B.Test."));
    assert.deepEqual(b.connects, ["127.0.0.1:7002"]);
  });

  test("no name, a name nothing matches, or an invalid one: the default server answers", async () => {
    const run = harness();
    for (const name of [null, "other.test", "a..test"]) {
      const r = await run(8443, helloFor(name));
      assert.equal(r.sent, "default \n", `name ${name}`);
      assert.deepEqual(r.connects, []);
    }
  });

  test("a regex's named group and positional captures are the session's variables", async () => {
    const run = harness();
    const echo = await run(8443, helloFor("Carol.Echo.Test"));
    assert.equal(echo.sent, "who=carol 1=carol name=~^(?P<who>[a-z]+)\\.echo\\.test$ sni=Carol.Echo.Test\n");
    // $2 of the match names the upstream proxy_pass goes to.
    assert.deepEqual((await run(8443, helloFor("dave.beta.tenants.test"))).connects, ["127.0.0.1:7002"]);
    assert.deepEqual((await run(8443, helloFor("erin.alpha.tenants.test"))).connects, ["127.0.0.1:7001"]);
  });

  test("the chosen server's error_log has the session's lines from the choice on", async () => {
    const run = harness();
    const r = await run(8443, helloFor("a.test"));
    // The accept is logged where the default server logs; the proxying, where a.test does.
    assert.match(r.lines.get("")?.join("\n") ?? "", /\[info\] \*\d+ client 127\.0\.0\.1:40000 connected to 127\.0\.0\.1:8443/);
    assert.match(
      r.lines.get("a.test")?.join("\n") ?? "",
      /\[info\] \*\d+ proxy 127\.0\.0\.1:50000 connected to 127\.0\.0\.1:7001/,
    );
    assert.doesNotMatch(r.lines.get("")?.join("\n") ?? "", /proxy .* connected/);
  });

  test("only the default server's ssl_preread reads the name (as nginx: it runs in that server)", async () => {
    const run = harness();
    const r = await run(8444, helloFor("a.test"));
    assert.equal(r.sent, "no preread\n");
    assert.deepEqual(r.connects, []);
  });
});

describe("server_name regex captures in the config", () => {
  test("a named group is a variable the config may use; an unknown name still is not", () => {
    const ok = loadNginxConfig(
      `events {} stream { server { listen 1; server_name ~^(?<sub>.+)\\.x\\.test$; return $sub; } }`,
      "n.conf",
    ).config;
    assert.doesNotThrow(() => compileStreamVariables(ok.stream));
    const yaml = loadYamlConfig(
      `stream:\n  servers:\n    - listen: "1"\n      server_name: ["~^(?<sub>.+)\\\\.x$"]\n      return: "$sub"\n`,
      "n.yaml",
    );
    assert.deepEqual(yaml.stream.servers[0]!.serverNames, ["~^(?<sub>.+)\\.x$"]);
    // The reader compiles the config's variables: what it refuses, -t refuses.
    assert.throws(
      () =>
        loadNginxConfig(
          `events {} stream { server { listen 1; server_name ~^(?<sub>.+)\\.x\\.test$; return $other; } }`,
          "n.conf",
        ),
      /unknown "other" variable/,
    );
    assert.throws(
      () => loadNginxConfig(`events {} stream { server { listen 1; server_name ~^(?<remote_addr>.+)$; return x; } }`, "n.conf"),
      /the duplicate "remote_addr" variable in n\.conf:1/,
    );
  });
});
