// limit_conn: read as nginx reads it (messages word for word, the server's own lines replacing
// stream{}'s), the same in YAML and through both writers, and run as nginx's pre-access
// handler: 503 and its log line once a key holds N sessions, the units given back at session
// end, an earlier zone's unit given back when a later zone rejects, dry run, and
// $limit_conn_status, with the counts in this process and behind a master (RemoteCounters).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Config } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { ConnectionBudget } from "../../src/core/connections.ts";
import type { Logger } from "../../src/core/log.ts";
import { buildRoutes } from "../../src/core/routes.ts";
import type { ClientConnection, RelayResult, RelaySink, Runtime, UpstreamConnection } from "../../src/core/runtime.ts";
import { Session } from "../../src/core/session.ts";
import { CounterTable, LocalCounters, RemoteCounters, type SharedCounters } from "../../src/core/shared-counters.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";
import { ComplexValue } from "../../src/core/variables/complex-value.ts";

const FILE = "/etc/nginx/nginx.conf";
const withStream = (body: string) => `events {}\nstream {\n${body}\n}\n`;
const load = (text: string) => loadNginxConfig(text, FILE).config;
function errorOf(text: string): string {
  try {
    load(text);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("the config loaded");
}

function comparable(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === "loc" || key === "proxyPassLoc" || key === "file") return undefined;
      return value instanceof Map ? [...value.entries()] : value;
    }),
  );
}

const CONFIG = withStream(`
  limit_conn_zone $binary_remote_addr zone=addr:1m;
  limit_conn_zone $server_port zone=port:64k;
  limit_conn addr 2;
  limit_conn_log_level warn;
  server { listen 127.0.0.1:8000; proxy_pass 127.0.0.1:9000; }
  server { listen 127.0.0.1:8001; proxy_pass 127.0.0.1:9000; limit_conn port 1; limit_conn addr 5; limit_conn_dry_run on; }
`);

describe("limit_conn config", () => {
  test("zones, limits in order, and nginx's merge: a server's own lines replace stream{}'s", () => {
    const c = load(CONFIG);
    assert.deepEqual(
      [...c.stream.limitConnZones!.values()].map((z) => [z.name, z.key, z.size]),
      [["addr", "$binary_remote_addr", "1m"], ["port", "$server_port", "64k"]],
    );
    const [a, b] = c.stream.servers;
    assert.deepEqual(a!.limitConn && { ...a!.limitConn, limits: a!.limitConn.limits.map((l) => [l.zone, l.conn]) }, {
      limits: [["addr", 2]],
      dryRun: false,
      logLevel: "warn",
    });
    assert.deepEqual(b!.limitConn && { ...b!.limitConn, limits: b!.limitConn.limits.map((l) => [l.zone, l.conn]) }, {
      limits: [["port", 1], ["addr", 5]],
      dryRun: true,
      logLevel: "warn",
    });
  });

  test("bad input is refused in nginx's words", () => {
    const srv = (body: string) =>
      withStream(`limit_conn_zone $remote_addr zone=z:1m;\nserver { listen 1; proxy_pass 127.0.0.1:9; ${body} }`);
    const cases: [string, string][] = [
      [withStream(`limit_conn_zone $remote_addr;`), `invalid number of arguments in "limit_conn_zone" directive in ${FILE}:3`],
      [withStream(`limit_conn_zone $remote_addr z:1m;`), `invalid parameter "z:1m" in ${FILE}:3`],
      [withStream(`limit_conn_zone $remote_addr zone=z:4k;`), `zone "zone=z:4k" is too small in ${FILE}:3`],
      [withStream(`limit_conn_zone $remote_addr zone=z:1x;`), `invalid zone size "zone=z:1x" in ${FILE}:3`],
      [
        withStream(`limit_conn_zone $remote_addr zone=z:1m;\nlimit_conn_zone $server_port zone=z:1m;`),
        `limit_conn_zone "z" is already bound to key "$remote_addr" in ${FILE}:4`,
      ],
      [srv("limit_conn z 0;"), `invalid number of connections "0" in ${FILE}:4`],
      [srv("limit_conn z 65536;"), `connection limit must be less 65536 in ${FILE}:4`],
      [srv("limit_conn z 1; limit_conn z 2;"), `"limit_conn" directive is duplicate in ${FILE}:4`],
      [srv("limit_conn_log_level debug;"), `invalid value "debug" in ${FILE}:4`],
      [
        srv("limit_conn_dry_run maybe;"),
        `invalid value "maybe" in "limit_conn_dry_run" directive, it must be "on" or "off" in ${FILE}:4`,
      ],
      [srv("limit_conn nozone 1;"), `zero size shared memory zone "nozone"`],
      [withStream(`limit_conn_zone $nope zone=z:1m;\nserver { listen 1; proxy_pass 127.0.0.1:9; }`), `unknown "nope" variable`],
    ];
    for (const [text, message] of cases) assert.equal(errorOf(text), message, text);
  });

  test("YAML says the same, and both writers read back into the same config", () => {
    const yaml = loadYamlConfig(
      `
stream:
  limit_conn_zone:
    addr: { key: $binary_remote_addr, size: 1m }
    port: { key: $server_port, size: 64k }
  limit_conn: { addr: 2 }
  limit_conn_log_level: warn
  servers:
    - { listen: "127.0.0.1:8000", proxy_pass: "127.0.0.1:9000" }
    - listen: "127.0.0.1:8001"
      proxy_pass: "127.0.0.1:9000"
      limit_conn: { port: 1, addr: 5 }
      limit_conn_dry_run: on
`,
      "in.yaml",
    );
    const nginx = load(CONFIG);
    const servers = (c: Config) => comparable({ ...c, errorLog: null, workerProcesses: 0 } as unknown as Config);
    assert.deepEqual(servers(yaml), servers(nginx));
    assert.deepEqual(comparable(load(writeNginxConfig(nginx))), comparable(nginx));
    assert.deepEqual(comparable(loadYamlConfig(writeYamlConfig(nginx), "out.yaml")), comparable(nginx));
    assert.match(writeNginxConfig(nginx), /limit_conn_zone \$binary_remote_addr zone=addr:1m;/);
  });

  test("YAML refuses what nginx refuses", () => {
    const bad = (zone: string, server = "") =>
      `stream:\n  limit_conn_zone: { ${zone} }\n  servers:\n    - { listen: "1", proxy_pass: "127.0.0.1:9"${server} }\n`;
    const err = (text: string) => {
      try {
        loadYamlConfig(text, "in.yaml");
      } catch (e) {
        return (e as Error).message;
      }
      return "loaded";
    };
    assert.match(err(bad("z: { key: $remote_addr, size: 4k }")), /^zone "zone=z:4k" is too small in in\.yaml:2/);
    assert.match(err(bad("z: { key: $remote_addr, size: 1m }", ", limit_conn: { z: 0 }")), /^invalid limit_conn "z" "0"/);
    assert.equal(err(bad("z: { key: $remote_addr, size: 1m }", ", limit_conn: { y: 1 }")), `zero size shared memory zone "y"`);
  });
});

/** Sessions over a config, with relays that last until the test ends them. */
function harness(text: string, counters: SharedCounters, client = "127.0.0.1") {
  const config = load(text);
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const ends: (() => void)[] = [];
  const conn = (port: number) =>
    ({ remoteAddress: client, remotePort: 40000, localAddress: "127.0.0.1", localPort: port, close() {} }) as never;
  const result: RelayResult = {
    end: "client_closed",
    bytesFromClient: 0,
    bytesToClient: 0,
    bytesFromUpstream: 0,
    bytesToUpstream: 0,
  };
  const runtime = {
    async connect() {
      return conn(9000) as UpstreamConnection;
    },
    relay: (_c: unknown, _u: unknown, _o: unknown, sink: RelaySink) => void ends.push(() => sink.relayEnded(result)),
  } as unknown as Runtime;
  const upstreams = new Map([...config.stream.upstreams].map(([name, u]) => [name, new Upstream(u)]));
  const routes = buildRoutes(config, upstreams, compileStreamVariables(config.stream), { forServer: () => null }, null, counters);
  const budget = new ConnectionBudget(logger, false);
  budget.configure(512, 1);
  let id = 1;
  const status = ComplexValue.compile("$limit_conn_status", routes.values().next().value!.registry!);
  const open = (port: number) => {
    const session = new Session(id++, conn(port) as ClientConnection, routes.get(`127.0.0.1:${port}`)!, runtime, logger, budget);
    const done = session.run();
    return { session, done, status: () => status.evaluate(session.variables) };
  };
  /** Lets pending answers (a master's) arrive. */
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { lines, open, settle, endAll: () => ends.splice(0).forEach((end) => end()) };
}

describe("limit_conn phase", () => {
  for (
    const [name, make] of [
      ["in one process", () => ({ counters: new LocalCounters() as SharedCounters, table: null })],
      [
        "behind a master (workers ask it)",
        () => {
          const table = new CounterTable();
          // The master answers on a later tick, as over the worker channel.
          const remote: RemoteCounters = new RemoteCounters((m) => {
            if (m.type === "acquire") setTimeout(() => remote.answered(m.id, table.acquire(1, m.zone, m.key, m.limit)), 0);
            else if (m.type === "release") table.release(1, m.zone, m.key);
          });
          return { counters: remote as SharedCounters, table };
        },
      ],
    ] as const
  ) {
    test(`N sessions per key, then 503 with nginx's line; a unit comes back at session end (${name})`, async () => {
      const { counters } = make();
      const h = harness(CONFIG, counters);
      const a = h.open(8000), b = h.open(8000);
      await h.settle();
      const c = h.open(8000);
      const rejected = await c.done;
      assert.equal(rejected.status, 503);
      assert.equal(c.status(), "REJECTED");
      assert.ok(
        h.lines.includes(`[warn] *3 limiting connections by zone "addr", client: 127.0.0.1, server: 127.0.0.1:8000`),
        h.lines.join("\n"),
      );
      assert.equal(a.status(), "PASSED");
      h.endAll();
      assert.equal((await a.done).status, 200);
      await b.done;
      // Both units are back: two more sessions pass.
      const d = h.open(8000), e = h.open(8000);
      await h.settle();
      h.endAll();
      assert.deepEqual([(await d.done).status, (await e.done).status], [200, 200]);
    });
  }

  test("a later zone's rejection gives back the earlier zone's unit at once; dry run only logs", async () => {
    const counters = new LocalCounters();
    const h = harness(
      withStream(`
  limit_conn_zone $remote_addr zone=addr:1m;
  limit_conn_zone $server_port zone=port:1m;
  server { listen 127.0.0.1:8002; proxy_pass 127.0.0.1:9000; limit_conn addr 10; limit_conn port 1; }
  server { listen 127.0.0.1:8003; proxy_pass 127.0.0.1:9000; limit_conn port 1; limit_conn_dry_run on; }
`),
      counters,
    );
    const first = h.open(8002);
    assert.equal(counters.count("addr", "127.0.0.1"), 1);
    const second = h.open(8002);
    assert.equal((await second.done).status, 503);
    assert.equal(counters.count("addr", "127.0.0.1"), 1, "the rejected session still holds an addr unit");

    const dry = [h.open(8003), h.open(8003)];
    assert.deepEqual(dry.map((s) => s.status()), ["PASSED", "REJECTED_DRY_RUN"]);
    assert.ok(h.lines.some((l) => l.startsWith(`[error] *4 limiting connections, dry run, by zone "port", client: 127.0.0.1`)));
    await h.settle();
    h.endAll();
    assert.deepEqual([(await first.done).status, ...(await Promise.all(dry.map((s) => s.done))).map((o) => o.status)], [
      200,
      200,
      200,
    ]);
    assert.deepEqual([counters.count("addr", "127.0.0.1"), counters.count("port", "8002"), counters.count("port", "8003")], [
      0,
      0,
      0,
    ]);
  });

  test("an empty key is not limited, and $limit_conn_status stays not found", async () => {
    const h = harness(
      withStream(`
  limit_conn_zone $proxy_protocol_addr zone=pp:1m;
  server { listen 127.0.0.1:8004; proxy_pass 127.0.0.1:9000; limit_conn pp 1; }
`),
      new LocalCounters(),
    );
    const sessions = [h.open(8004), h.open(8004)];
    assert.deepEqual(sessions.map((s) => s.status()), ["", ""]);
    await h.settle();
    h.endAll();
    for (const s of sessions) assert.equal((await s.done).status, 200);
  });
});
