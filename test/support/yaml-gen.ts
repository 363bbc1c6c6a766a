// A small grammar of valid streamlb YAML configs, for the fuzz tests, with the keys only YAML
// spells directly (admin, health_check, access_log, the short and long forms of hash and
// random, a server as a bare address or a mapping) so the writers meet all of them.
import * as fc from "fast-check";

/** A YAML double-quoted scalar (JSON's string syntax is valid YAML). */
const q = (text: string) => JSON.stringify(text);

const timeMs = fc.oneof(
  fc.integer({ min: 1, max: 999 }).map((n) => `${n}ms`),
  fc.integer({ min: 1, max: 600 }).map((n) => `${n}s`),
  fc.tuple(fc.integer({ min: 1, max: 59 }), fc.integer({ min: 1, max: 59 })).map(([m, s]) => `${m}m${s}s`),
);
const timeS = fc.oneof(fc.integer({ min: 0, max: 600 }).map((n) => `${n}s`), fc.integer({ min: 1, max: 30 }).map((n) => `${n}d`));
const flag = fc.constantFrom("true", "false", "on", "off");

const proxySetting = fc.oneof(
  fc.tuple(fc.constantFrom("proxy_connect_timeout", "proxy_timeout", "proxy_next_upstream_timeout"), timeMs),
  fc.tuple(fc.constant("proxy_buffer_size"), fc.constantFrom("4k", "16k", "1m", "8000")),
  fc.tuple(fc.constantFrom("tcp_nodelay", "proxy_next_upstream", "proxy_half_close", "proxy_session_drop"), flag),
  fc.tuple(fc.constant("proxy_next_upstream_tries"), fc.integer({ min: 0, max: 20 }).map(String)),
);
const proxySettings = fc.uniqueArray(proxySetting, { selector: ([k]) => k, maxLength: 3 });

const address = fc
  .tuple(fc.constantFrom("10.0.0.1", "127.0.0.1", "[::1]", "backend.example"), fc.integer({ min: 1, max: 65535 }))
  .map(([h, p]) => `${h}:${p}`);

type Method = "rr" | "least_conn" | "hash" | "random";

const methodLines: Record<Method, fc.Arbitrary<string[]>> = {
  rr: fc.constant([]),
  least_conn: fc.constant(["least_conn: true"]),
  hash: fc.oneof(
    fc.constantFrom("$remote_addr", "$remote_addr:$remote_port").map((k) => [`hash: ${q(k)}`]),
    fc.boolean().map((c) => [`hash: { key: "$remote_addr", consistent: ${c} }`]),
  ),
  random: fc.constantFrom(["random: true"], ["random: { two: true }"], ["random: { two: true, method: least_conn }"]),
};

function server(m: Method): fc.Arbitrary<string> {
  const params = [
    fc.integer({ min: 1, max: 100 }).map((n) => `weight: ${n}`),
    fc.integer({ min: 0, max: 10 }).map((n) => `max_fails: ${n}`),
    timeS.map((t) => `fail_timeout: ${t}`),
    fc.integer({ min: 0, max: 50 }).map((n) => `max_conns: ${n}`),
    flag.map((f) => `down: ${f}`),
    flag.map((f) => `drain: ${f}`),
    ...(m === "hash" || m === "random" ? [] : [flag.map((f) => `backup: ${f}`), timeS.map((t) => `slow_start: ${t}`)]),
  ];
  return fc
    .tuple(address, fc.uniqueArray(fc.oneof(...params), { selector: (p) => p.replace(/:.*/, ""), maxLength: 3 }))
    .map(([addr, ps]) => (ps.length === 0 ? q(addr) : `{ address: ${q(addr)}, ${ps.join(", ")} }`));
}

const healthCheck = fc.oneof(
  fc.constant("true"),
  fc
    .record({
      interval: fc.option(timeMs.map((t) => `interval: ${t}`)),
      timeout: fc.option(timeMs.map((t) => `timeout: ${t}`)),
      fails: fc.option(fc.integer({ min: 1, max: 5 }).map((n) => `fails: ${n}`)),
      port: fc.option(fc.integer({ min: 1, max: 65535 }).map((n) => `port: ${n}`)),
      udp: fc.option(fc.constant("udp: true")),
      send: fc.option(fc.constantFrom(`send: "PING\\r\\n"`, `send: "\\\\x00\\\\x01"`)),
      expect: fc.option(fc.constantFrom(`expect: "PONG"`, `expect: { regex: "^P[O0]NG", ignore_case: true }`)),
    })
    .map((r) => `{ ${Object.values(r).filter((v) => v !== null).join(", ")} }`),
);

const upstream = (maxServers: number) =>
  fc
    .constantFrom<Method>("rr", "least_conn", "hash", "random")
    .chain((m) =>
      fc.record({
        method: methodLines[m],
        servers: fc.array(server(m), { minLength: 1, maxLength: maxServers }),
        health: fc.option(healthCheck),
        state: fc.option(fc.constantFrom("/var/lib/streamlb/u.state", "state dir/u.state")),
      })
    )
    // A server that is not a backup is needed: the first one never is one.
    .map((u) => ({ ...u, servers: [u.servers[0]!.replace(/, backup: (true|on)/, ""), ...u.servers.slice(1)] }));

const accessLog = fc.constantFrom(
  "off",
  "/var/log/streamlb/access.log",
  `{ path: /var/log/a.log, format: basic, buffer: 32k, flush: 5s }`,
  `{ path: /var/log/b.log, format: mine }`,
);

const upstreamName = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."ab_ #;{}\"'é-"), minLength: 1, maxLength: 6 }) },
);

/** A server's TLS keys (a valid mix: an ssl listener always has its certificate pairs). */
const tls = fc
  .record({
    ssl: fc.boolean(),
    pairs: fc.integer({ min: 1, max: 2 }),
    lines: fc.subarray([
      "ssl_protocols: [TLSv1.3]",
      `ssl_ciphers: "ECDHE+AESGCM:!aNULL"`,
      `ssl_session_cache: "shared:SSL:1m builtin"`,
      "ssl_session_timeout: 10m",
      "ssl_session_tickets: false",
      "ssl_handshake_timeout: 5s",
      "ssl_verify_client: optional_no_ca",
      "ssl_verify_depth: 3",
      "ssl_alpn: [h2, http/1.1]",
      "proxy_ssl: true",
      "proxy_ssl_server_name: true",
      `proxy_ssl_name: "$remote_addr.example"`,
      "{ proxy_ssl_verify: true, proxy_ssl_trusted_certificate: ca.pem }",
      "proxy_ssl_protocols: TLSv1.2 TLSv1.3",
      "proxy_ssl_session_reuse: off",
    ]),
  })
  .map(({ ssl, pairs, lines }) => ({
    ssl,
    lines: [
      ...(ssl
        ? [
          `ssl_certificate: [${["a.pem", "b.pem"].slice(0, pairs)}]`,
          `ssl_certificate_key: [${["a.key", "b.key"].slice(0, pairs)}]`,
        ]
        : []),
      // A `{ … }` entry is two keys that go together.
      ...lines.flatMap((l) => (l.startsWith("{") ? l.slice(2, -2).split(", ") : [l])),
    ],
  }));

/** How big a generated config may be: upstreams, servers in each, and server{} entries. */
export interface YamlSize {
  readonly upstreams: number;
  readonly upstreamServers: number;
  readonly servers: number;
}

export const yamlConfigOf = (size: YamlSize): fc.Arbitrary<string> =>
  fc
    .record({
      workers: fc.option(fc.constantFrom("2", "auto")),
      shutdown: fc.option(timeMs),
      errorLog: fc.option(fc.constantFrom(`{ path: stderr, level: warn }`, `{ path: /var/log/s.log }`)),
      admin: fc.option(
        fc.constantFrom(`{ listen: "127.0.0.1:9000" }`, `{ listen: 9001, token: "s3cret" }`, `{ listen: "[::1]:9002" }`),
      ),
      settings: proxySettings,
      accessLog: fc.option(accessLog),
      upstreams: fc.uniqueArray(fc.tuple(upstreamName, upstream(size.upstreamServers)), {
        selector: ([n]) => n,
        minLength: 1,
        maxLength: size.upstreams,
      }),
      servers: fc.array(fc.tuple(fc.nat(), proxySettings, fc.option(accessLog), fc.boolean(), fc.option(tls)), {
        minLength: 1,
        maxLength: size.servers,
      }),
    })
    .map((g) => {
      const out: string[] = [];
      if (g.workers) out.push(`worker_processes: ${g.workers}`);
      if (g.shutdown) out.push(`worker_shutdown_timeout: ${g.shutdown}`);
      if (g.errorLog) out.push(`error_log: ${g.errorLog}`);
      if (g.admin) out.push(`admin: ${g.admin}`);
      out.push("stream:");
      for (const [k, v] of g.settings) out.push(`  ${k}: ${v}`);
      out.push(`  log_formats:`, `    mine: { escape: json, format: '$remote_addr $status' }`);
      if (g.accessLog) out.push(`  access_log: ${g.accessLog}`);
      out.push("  upstreams:");
      for (const [name, u] of g.upstreams) {
        out.push(`    ${q(name)}:`);
        for (const l of u.method) out.push(`      ${l}`);
        if (u.state) out.push(`      state: ${q(u.state)}`);
        out.push("      servers:", ...u.servers.map((s) => `        - ${s}`));
        if (u.health) out.push(`      health_check: ${u.health}`);
      }
      out.push("  servers:");
      g.servers.forEach(([pick, settings, log, two, t], i) => {
        const port = 8000 + 2 * i;
        const ssl = t?.ssl ? " ssl" : "";
        out.push(`    - listen: ${two ? `["${port}${ssl}", "127.0.0.1:${port + 1}${ssl}"]` : `"${port}${ssl}"`}`);
        out.push(`      proxy_pass: ${q(g.upstreams[pick % g.upstreams.length]![0])}`);
        for (const [k, v] of settings) out.push(`      ${k}: ${v}`);
        if (log) out.push(`      access_log: ${log}`);
        for (const l of t?.lines ?? []) out.push(`      ${l}`);
      });
      return `${out.join("\n")}\n`;
    });

export const yamlConfig = yamlConfigOf({ upstreams: 2, upstreamServers: 3, servers: 2 });
