// Fail closed: walks nginx's whole directive table (every directive of every module streamlb
// reads) and every listen parameter through the real reader, and holds apart the two lists:
// what streamlb accepts without acting on must be on the harmless list, with a reason, and
// nothing that guards access, limits resources or shapes the wire may ever be on it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { HARMLESS_LISTEN_PARAMS, LISTEN_PARAMS } from "../../src/core/config/schema/listen-params.ts";
import { allDirectiveSpecs, type Context, type DirectiveSpec, HARMLESS_DIRECTIVES } from "../../src/core/config/schema/table.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";

/** These guard access, limit resources or shape the wire: never harmless to ignore. */
const NEVER_HARMLESS = [
  "allow",
  "deny",
  "limit_conn",
  "limit_conn_zone",
  "proxy_protocol",
  "proxy_ssl",
  "proxy_ssl_verify",
  "proxy_ssl_certificate",
  "proxy_ssl_name",
  "proxy_ssl_server_name",
  "proxy_ssl_protocols",
  "proxy_ssl_ciphers",
  "proxy_ssl_trusted_certificate",
  "resolver",
  "worker_connections",
  "worker_rlimit_nofile",
  "set_real_ip_from",
  "proxy_bind",
  "proxy_upload_rate",
  "proxy_download_rate",
  "js_access",
  "js_preread",
  "js_filter",
  "js_set",
  "map",
  "geo",
  "split_clients",
  "return",
  "pass",
  "set",
  "ssl_preread",
  "server_name",
  "least_time",
  "keyval",
  "keyval_zone",
  "geoip_country",
  "so_keepalive",
  "proxy_read_timeout",
  "proxy_send_timeout",
  "busyness",
  "zone_sync",
  "location",
  "protocol",
];
const NEVER_HARMLESS_LISTEN = ["backlog", "so_keepalive", "ipv6only", "ssl", "udp", "proxy_protocol", "multipath"];

/** Structure the reader handles itself; the walk places directives inside these. */
const STRUCTURE = new Set(["events", "stream", "tcp", "upstream", "server", "include", "match", "listen", "proxy_pass"]);

/** Where the value kind does not say what nginx's own checks accept. */
const SAMPLE_ARGS: Record<string, string[]> = { check_http_expect_alive: ["http_2xx"] };

/** Arguments nginx's own checks accept, so the walk reaches what streamlb does with the directive. */
function sampleArgs(spec: DirectiveSpec): string[] {
  if (SAMPLE_ARGS[spec.name]) return SAMPLE_ARGS[spec.name]!;
  if (spec.args === "flag") return ["on"];
  const one = spec.value === "time" || spec.value === "time_s"
    ? "1s"
    : spec.value === "size"
    ? "1k"
    : spec.value === "number"
    ? "1"
    : "x";
  const count = spec.args === "any"
    ? 0
    : spec.args === "1more"
    ? 1
    : spec.args === "2more"
    ? 2
    : Math.min(...spec.args.filter((n) => n > 0), 9);
  return Array.from({ length: count === 9 ? 0 : count }, () => one);
}

function place(ctx: Context, line: string): string | null {
  const tail = (family: "stream" | "tcp", body: string) => `events {}\n${family} {\n${body}\n}\n`;
  switch (ctx) {
    case "main":
      return `${line}\nevents {}\nstream {}\n`;
    case "events":
      return `events {\n${line}\n}\nstream {}\n`;
    case "stream":
    case "tcp":
      return tail(ctx, line);
    case "stream_server":
      return tail("stream", `server { listen 1; proxy_pass 127.0.0.1:9;\n${line}\n}`);
    case "tcp_server":
      return tail("tcp", `server { listen 1; proxy_pass 127.0.0.1:9;\n${line}\n}`);
    case "stream_upstream":
      return tail("stream", `upstream u { server 127.0.0.1:1;\n${line}\n}\nserver { listen 1; proxy_pass u; }`);
    case "tcp_upstream":
      return tail("tcp", `upstream u { server 127.0.0.1:1;\n${line}\n}\nserver { listen 1; proxy_pass u; }`);
    case "stream_match":
      return null; // send/expect: the health checks' own
  }
}

type Outcome = "refused" | "ignored" | "runs" | "other error";

function outcome(text: string, name: string, ignoredPattern: RegExp): Outcome {
  try {
    const { warnings } = loadNginxConfig(text, "/t.conf");
    return warnings.some((w) => ignoredPattern.test(w.message)) ? "ignored" : "runs";
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problem === `"${name}" directive is not supported yet` ||
        e.problem === `the "${name}" parameter of "listen" is not supported yet`
      ? "refused"
      : "other error";
  }
}

describe("fail closed", () => {
  const seen = new Map<string, Set<Outcome>>();
  const byRow = new Map<DirectiveSpec, Set<Outcome>>();
  for (const spec of allDirectiveSpecs()) {
    // http{}'s own names (no context here) are "not allowed" wherever streamlb reads.
    if (STRUCTURE.has(spec.name)) continue;
    const args = sampleArgs(spec);
    const line = `${spec.name}${args.map((a) => ` ${a}`).join("")}${spec.block ? " {}" : ";"}`;
    for (const ctx of spec.contexts) {
      const text = place(ctx, line);
      if (text === null) continue;
      const ignored = new RegExp(`^(the )?"${spec.name}" (section )?is ignored`);
      const o = outcome(text, spec.name, ignored);
      if (!seen.has(spec.name)) seen.set(spec.name, new Set());
      seen.get(spec.name)!.add(o);
      if (!byRow.has(spec)) byRow.set(spec, new Set());
      byRow.get(spec)!.add(o);
    }
  }

  test("every row's support column is what the reader does with it", () => {
    const wrong: string[] = [];
    for (const [row, outcomes] of byRow) {
      const o = [...outcomes];
      const where = `${row.name} (${row.family}): ${
        row.support === "runs" || row.support === "refused" ? row.support : "harmless"
      } but ${o}`;
      // "other error": the sample arguments did not get past the directive's own checks.
      if (row.support === "runs" && o.some((x) => x === "refused" || x === "ignored")) wrong.push(where);
      if (row.support === "refused" && o.some((x) => x === "runs" || x === "ignored")) wrong.push(where);
      if (typeof row.support === "object" && !o.every((x) => x === "ignored")) wrong.push(where);
    }
    assert.deepEqual(wrong, []);
    // Every row the walk can place was walked.
    const placed = allDirectiveSpecs().filter((r) => !STRUCTURE.has(r.name) && r.contexts.some((c) => place(c, "") !== null));
    assert.deepEqual(placed.filter((r) => !byRow.has(r)).map((r) => r.name), []);
  });

  test("every directive accepted without effect is on the harmless list", () => {
    const ignoredNotHarmless = [...seen].filter(([name, o]) => o.has("ignored") && !HARMLESS_DIRECTIVES.has(name)).map(([n]) =>
      n
    );
    assert.deepEqual(ignoredNotHarmless, []);
  });

  test("every directive on the harmless list is one the reader accepts without effect (none stale, none refused)", () => {
    const stale = [...HARMLESS_DIRECTIVES.keys()].filter((name) => !seen.get(name)?.has("ignored"));
    assert.deepEqual(stale, []);
  });

  test("nothing that guards access, limits resources or shapes the wire is harmless", () => {
    assert.deepEqual(NEVER_HARMLESS.filter((n) => HARMLESS_DIRECTIVES.has(n)), []);
    assert.deepEqual(NEVER_HARMLESS_LISTEN.filter((n) => HARMLESS_LISTEN_PARAMS.has(n)), []);
    // And the reader refuses each of them (or runs it), never accepts it with a warning.
    for (const name of NEVER_HARMLESS) {
      const o = seen.get(name);
      assert.ok(o, `"${name}" is in nginx's table`);
      assert.ok(!o.has("ignored"), `"${name}" is ignored`);
    }
  });

  test("the walk reached the reader's decision for most of the table", () => {
    const counts = { refused: 0, ignored: 0, runs: 0, "other error": 0 };
    for (const o of seen.values()) for (const x of o) counts[x]++;
    // Not vacuous: dozens of each kind were decided by the reader itself.
    assert.ok(counts.refused >= 40, JSON.stringify(counts));
    assert.ok(counts.ignored >= 30, JSON.stringify(counts));
  });

  test("every listen parameter is run, harmless and warned about, or refused", () => {
    const params: Record<string, string> = {
      bind: "bind",
      default_server: "default_server",
      reuseport: "reuseport",
      deferred: "deferred",
      rcvbuf: "rcvbuf=8k",
      sndbuf: "sndbuf=8k",
      fastopen: "fastopen=1",
      setfib: "setfib=1",
      accept_filter: "accept_filter=dataready",
      backlog: "backlog=10",
      so_keepalive: "so_keepalive=on",
      ipv6only: "ipv6only=on",
      multipath: "multipath",
    };
    for (const [name, p] of Object.entries(params)) {
      const text = `events {}\nstream { server { listen [::1]:1 ${p}; proxy_pass 127.0.0.1:9; } }\n`;
      const o = outcome(text, name, new RegExp(`^the "${name}" parameter of "listen" is ignored: `));
      if (LISTEN_PARAMS.get(name) === "runs") assert.equal(o, "runs", name);
      else if (HARMLESS_LISTEN_PARAMS.has(name)) assert.ok(o === "ignored" || o === "runs", `${name}: ${o}`);
      else assert.equal(o, "refused", name);
    }
    for (const name of HARMLESS_LISTEN_PARAMS.keys()) assert.ok(name in params, `${name} is walked`);
  });
});

describe("fail closed: hash keys", () => {
  const conf = (key: string) =>
    `events {}\nstream {\nupstream u { hash ${key}; server 127.0.0.1:1; }\nserver { listen 1; proxy_pass u; }\n}\n`;
  const problem = (key: string) => {
    try {
      loadNginxConfig(conf(key), "/t.conf");
      return null;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.problem;
    }
  };

  test("a key may read any variable sessions fill; one nothing defines is refused, never hashed as an empty string", () => {
    assert.equal(problem("$binary_remote_addr"), null);
    assert.equal(problem("$proxy_protocol_addr"), null);
    assert.match(problem("$nonesuch") ?? "", /^unknown "nonesuch" variable/);
  });

  test("the variables read off the connection are taken", () => {
    assert.equal(problem("$remote_addr:$remote_port"), null);
    assert.equal(problem("${server_addr}x$server_port"), null);
  });
});
