// A small grammar of valid nginx stream configs, for the fuzz tests: each generated config
// comes with what it declares (upstreams, their server addresses, listen ports), so a test
// can check the reader got it right before mutating the text into a nearly valid one.
import * as fc from "fast-check";
import type { Config } from "../../src/core/config/model.ts";

export interface GeneratedUpstream {
  readonly name: string;
  readonly addresses: readonly string[];
}

export interface GeneratedConfig {
  readonly text: string;
  readonly upstreams: readonly GeneratedUpstream[];
  /** Per server{}: its listen ports, and the upstream it passes to. */
  readonly servers: ReadonlyArray<{ readonly ports: readonly number[]; readonly proxyPass: string }>;
}

/** A word as nginx reads it back unchanged: bare when safe, else double-quoted with escapes. */
export function nginxWord(text: string): string {
  if (text !== "" && /^[A-Za-z0-9_./:$@%+=,*~-]+$/.test(text) && !text.includes("${")) return text;
  return `"${text.replace(/[\\"]/g, "\\$&")}"`;
}

const timeMs = fc.oneof(
  fc.integer({ min: 0, max: 600 }).map((n) => `${n}`),
  fc.integer({ min: 1, max: 999 }).map((n) => `${n}ms`),
  fc.integer({ min: 1, max: 600 }).map((n) => `${n}s`),
  fc.tuple(fc.integer({ min: 1, max: 59 }), fc.integer({ min: 1, max: 59 })).map(([m, s]) => `${m}m${s}s`),
  fc.integer({ min: 1, max: 48 }).map((n) => `${n}h`),
);
const timeS = fc.oneof(
  fc.integer({ min: 0, max: 600 }).map((n) => `${n}`),
  fc.integer({ min: 1, max: 600 }).map((n) => `${n}s`),
  fc.integer({ min: 1, max: 30 }).map((n) => `${n}d`),
  fc.integer({ min: 1, max: 12 }).map((n) => `${n}M`),
);
const size = fc.oneof(
  fc.integer({ min: 1, max: 1 << 20 }).map(String),
  fc.integer({ min: 1, max: 1024 }).map((n) => `${n}k`),
  fc.integer({ min: 1, max: 16 }).map((n) => `${n}m`),
);
const onOff = fc.constantFrom("on", "off", "ON", "Off");

const proxySetting = fc.oneof(
  fc.tuple(fc.constantFrom("proxy_connect_timeout", "proxy_timeout", "proxy_next_upstream_timeout"), timeMs),
  fc.tuple(fc.constant("proxy_buffer_size"), size),
  fc.tuple(fc.constantFrom("tcp_nodelay", "proxy_next_upstream", "proxy_socket_keepalive"), onOff),
  fc.tuple(fc.constant("proxy_next_upstream_tries"), fc.integer({ min: 0, max: 20 }).map(String)),
);
/** Distinct directives (nginx refuses a duplicate), in any order. */
const proxySettings = fc.uniqueArray(proxySetting, { selector: ([name]) => name, maxLength: 4 });

/** Names an upstream may have: plain ones, and some that need quoting (spaces, quotes, `#`, `;`). */
const upstreamName = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."ab_ #;{}\"'\\é"), minLength: 1, maxLength: 6 }) },
);

const host = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.0.${a}.${b}`),
  fc.constantFrom("127.0.0.1", "[::1]", "[2001:db8::7]", "backend.example", "db-1.internal"),
);
const port = fc.integer({ min: 1, max: 65535 });
const address = fc.tuple(host, port).map(([h, p]) => `${h}:${p}`);

type Method = "none" | "least_conn" | "hash" | "random";
const method = fc.constantFrom<Method>("none", "least_conn", "hash", "random");

function methodLine(m: Method): fc.Arbitrary<string | null> {
  switch (m) {
    case "none":
      return fc.constant(null);
    case "least_conn":
      return fc.constant("least_conn;");
    case "hash":
      return fc
        .tuple(fc.constantFrom("$remote_addr", "$remote_addr:$remote_port", "${remote_addr}x", "$server_port"), fc.boolean())
        .map(([key, consistent]) => `hash ${nginxWord(key)}${consistent ? " consistent" : ""};`);
    case "random":
      return fc.constantFrom("random;", "random two;", "random two least_conn;");
  }
}

/** A `server` line's parameters: backup and slow_start only where the method allows them. */
function serverParams(m: Method): fc.Arbitrary<string[]> {
  const common = [
    fc.integer({ min: 1, max: 100 }).map((n) => `weight=${n}`),
    fc.integer({ min: 0, max: 10 }).map((n) => `max_fails=${n}`),
    timeS.map((t) => `fail_timeout=${t}`),
    fc.integer({ min: 0, max: 100 }).map((n) => `max_conns=${n}`),
    fc.constant("down"),
    fc.constant("drain"),
  ];
  const ordered = m === "hash" || m === "random"
    ? common
    : [...common, fc.constant("backup"), timeS.map((t) => `slow_start=${t}`)];
  return fc.uniqueArray(fc.oneof(...ordered), { selector: (p) => p.replace(/=.*/, ""), maxLength: 4 });
}

const upstreamBody = method.chain((m) =>
  fc.record({
    method: methodLine(m),
    servers: fc.array(fc.tuple(address, serverParams(m)), { minLength: 1, maxLength: 3 }),
  })
).map((body) => {
  // nginx needs a server that is not a backup: the first one never is.
  const [[addr, params], ...rest] = body.servers as [[string, string[]], ...Array<[string, string[]]>];
  return { ...body, servers: [[addr, params.filter((p) => p !== "backup")] as [string, string[]], ...rest] };
});

const mainLines = fc.record({
  workers: fc.option(fc.oneof(fc.integer({ min: 1, max: 64 }).map(String), fc.constant("auto"))),
  pid: fc.option(fc.constantFrom("/run/streamlb.pid", "/tmp/x y.pid", "logs/nginx.pid")),
  errorLog: fc.option(fc.tuple(fc.constantFrom("stderr", "/var/log/streamlb.log"), fc.constantFrom("warn", "error", "info"))),
});

export const nginxConfig: fc.Arbitrary<GeneratedConfig> = fc
  .record({
    main: mainLines,
    streamSettings: proxySettings,
    upstreams: fc.uniqueArray(fc.tuple(upstreamName, upstreamBody), {
      selector: ([name]) => name.toLowerCase(),
      minLength: 1,
      maxLength: 3,
    }),
    servers: fc.array(fc.tuple(fc.nat(), proxySettings, fc.integer({ min: 1, max: 2 })), { minLength: 1, maxLength: 3 }),
    indent: fc.constantFrom("", "  ", "\t"),
    comments: fc.boolean(),
  })
  .map((g) => {
    const lines: string[] = [];
    const note = (text: string) => (g.comments ? ` # ${text}` : "");
    if (g.main.workers !== null) lines.push(`worker_processes ${g.main.workers};`);
    if (g.main.pid !== null) lines.push(`pid ${nginxWord(g.main.pid)};`);
    if (g.main.errorLog !== null) lines.push(`error_log ${g.main.errorLog[0]} ${g.main.errorLog[1]};`);
    lines.push(`events {${note("required")}`, `}`, `stream {`);
    const i1 = g.indent;
    const i2 = g.indent + g.indent;
    for (const [name, value] of g.streamSettings) lines.push(`${i1}${name} ${value};`);
    const upstreams: GeneratedUpstream[] = [];
    for (const [name, body] of g.upstreams) {
      lines.push(`${i1}upstream ${nginxWord(name)} {${note(name)}`);
      if (body.method) lines.push(`${i2}${body.method}`);
      for (const [addr, params] of body.servers) lines.push(`${i2}server ${[addr, ...params].join(" ")};`);
      lines.push(`${i1}}`);
      upstreams.push({ name, addresses: body.servers.map(([addr]) => addr) });
    }
    const servers: Array<{ ports: number[]; proxyPass: string }> = [];
    let nextPort = 8000;
    for (const [pick, settings, listens] of g.servers) {
      const target = upstreams[pick % upstreams.length]!.name;
      const ports = Array.from({ length: listens }, () => nextPort++);
      lines.push(`${i1}server {`);
      for (const p of ports) lines.push(`${i2}listen ${p % 2 ? `127.0.0.1:${p}` : p};`);
      lines.push(`${i2}proxy_pass ${nginxWord(target)};`);
      for (const [name, value] of settings) lines.push(`${i2}${name} ${value};`);
      lines.push(`${i1}}`);
      servers.push({ ports, proxyPass: target });
    }
    lines.push(`}`);
    return { text: `${lines.join("\n")}\n`, upstreams, servers };
  });

/** The model as plain data without where things were written (maps as entry lists). */
export function comparable(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === "loc" || key === "proxyPassLoc" || key === "file") return undefined;
      return value instanceof Map ? [...value.entries()] : value;
    }),
  );
}
