// One directive, one meaning: generated from the schema's rows, every setting survives
// YAML → model → nginx.conf → model → YAML with a value other than its default, and the two
// readers draw the same line between a whole number they take and one they refuse.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Config } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { MAIN_ROWS } from "../../src/core/config/schema/main.ts";
import { PROXY_ROWS, TCP_PROXY_SETTINGS } from "../../src/core/config/schema/proxy.ts";
import { kindOf, type SettingRow } from "../../src/core/config/schema/row.ts";
import { SERVER_PARAM_ROWS } from "../../src/core/config/schema/upstream-server.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";

type Place = "main" | "events" | "stream" | "server" | "upstream_server";

interface Case {
  readonly place: Place;
  readonly name: string;
  /** A value other than the default, spelled for YAML. */
  readonly yaml: string;
  /** Whole numbers on either side of the row's bounds. */
  readonly edges?: readonly number[];
}

function caseOf(place: Place, r: SettingRow<never>): Case {
  const kind = kindOf<unknown>(r);
  const value = kind.samples.map((w) => kind.fromWord(w)).find((v) => v !== null && v !== r.default);
  assert.ok(value !== undefined, `${r.name}: no sample differs from the default`);
  const b = kind.bounds;
  const edges = b && [b.min - 1, b.min, Math.min(b.max, 2_000_000), b.max + 1].filter((n) => n >= 0 && Number.isSafeInteger(n));
  return { place, name: r.name, yaml: kind.toYaml(value), ...(edges && { edges }) };
}

const CASES: readonly Case[] = [
  ...MAIN_ROWS.map((r) => caseOf(r.context, r)),
  ...PROXY_ROWS.flatMap((r) => [caseOf("stream", r), caseOf("server", r)]),
  ...SERVER_PARAM_ROWS.map((r) => caseOf("upstream_server", r)),
];

/** A whole config with `name: value` at its place (a second server keeps `backup` legal). */
function yamlWith(c: Case, value: string): string {
  const at = (p: Place) => (c.place === p ? `${c.name}: ${value}` : "");
  return [
    at("main"),
    c.place === "events" ? `events: { worker_connections: ${value} }` : "",
    "stream:",
    `  ${at("stream")}`,
    "  upstreams:",
    "    u:",
    "      servers:",
    `        - { address: "127.0.0.1:6000"${c.place === "upstream_server" ? `, ${c.name}: ${value}` : ""} }`,
    `        - "127.0.0.1:6001"`,
    "  servers:",
    `    - listen: "8000"`,
    "      proxy_pass: u",
    `      ${at("server")}`,
    `    - listen: "8001"`,
    "      proxy_pass: u",
    "",
  ].join("\n");
}

/** The same, spelled for nginx. */
function nginxWith(c: Case, value: string): string {
  const at = (p: Place) => (c.place === p ? `${c.name} ${value};` : "");
  return `${at("main")}
events { ${at("events")} }
stream {
  ${at("stream")}
  upstream u { server 127.0.0.1:6000${c.place === "upstream_server" ? ` ${c.name}=${value}` : ""}; server 127.0.0.1:6001; }
  server { listen 8000; proxy_pass u; ${at("server")} }
  server { listen 8001; proxy_pass u; }
}
`;
}

function comparable(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === "loc" || key === "proxyPassLoc" || key === "file") return undefined;
      return value instanceof Map ? [...value.entries()] : value;
    }),
  );
}

const accepts = (read: () => unknown): boolean => {
  try {
    read();
    return true;
  } catch {
    return false;
  }
};

describe("every shared setting round-trips YAML → nginx.conf → YAML", () => {
  for (const c of CASES) {
    test(`${c.place} ${c.name}: ${c.yaml}`, () => {
      const first = loadYamlConfig(yamlWith(c, c.yaml), "in.yaml");
      const base = loadYamlConfig(yamlWith(c, c.yaml).replace(`${c.name}: ${c.yaml}`, ""), "base.yaml");
      // The value must reach the model, or the round trip proves nothing.
      assert.notDeepEqual(comparable(first), comparable(base));
      const conf = writeNginxConfig(first, "in.yaml");
      const second = loadNginxConfig(conf, "out.conf").config;
      assert.deepEqual(comparable(second), comparable(first));
      const yaml = writeYamlConfig(second);
      assert.deepEqual(comparable(loadYamlConfig(yaml, "back.yaml")), comparable(first));
      assert.equal(yaml, writeYamlConfig(first));
    });
  }
});

describe("the two readers take the same whole numbers", () => {
  for (const c of CASES.filter((x) => x.edges)) {
    for (const n of c.edges!) {
      test(`${c.name} ${n}`, () => {
        const yaml = accepts(() => loadYamlConfig(yamlWith(c, String(n)), "in.yaml"));
        const nginx = accepts(() => loadNginxConfig(nginxWith(c, String(n)), "in.conf"));
        assert.equal(yaml, nginx, `YAML ${yaml ? "accepts" : "refuses"} it, nginx.conf ${nginx ? "accepts" : "refuses"} it`);
      });
    }
  }
});

describe("tcp{} reads the rows it has under its own names and defaults", () => {
  for (const r of PROXY_ROWS.filter((x) => x.tcp)) {
    test(`${r.tcp!.name} sets ${r.field}`, () => {
      const kind = kindOf<unknown>(r);
      const word = kind.samples.find((w) => kind.fromWord(w) !== r.tcp!.default)!;
      const read = (line: string) =>
        loadNginxConfig(`events {}\ntcp {\n${line}\nserver { listen 1; proxy_pass 127.0.0.1:9; }\n}\n`, "t.conf").config.stream
          .servers[0]!.proxy;
      assert.equal(read("")[r.field], TCP_PROXY_SETTINGS[r.field]);
      assert.equal(read(`${r.tcp!.name} ${word};`)[r.field], kind.fromWord(word));
    });
  }
});

describe("the two drifts the review found stay fixed", () => {
  test("shutdown_grace survives YAML → nginx.conf → YAML", () => {
    const yaml = `shutdown_grace: 5s\nstream:\n  servers:\n    - { listen: 1, proxy_pass: "127.0.0.1:9" }\n`;
    const viaNginx = loadNginxConfig(writeNginxConfig(loadYamlConfig(yaml, "a.yaml")), "/b.conf").config;
    assert.equal(viaNginx.shutdownGraceMs, 5000);
    assert.equal(loadYamlConfig(writeYamlConfig(viaNginx), "c.yaml").shutdownGraceMs, 5000);
  });

  test("weight=2000000, which nginx takes, is taken by both readers and comes back", () => {
    const conf = `events {}\nstream { upstream u { server 127.0.0.1:1 weight=2000000; } server { listen 1; proxy_pass u; } }\n`;
    const fromNginx = loadNginxConfig(conf, "/a.conf").config;
    const fromYaml = loadYamlConfig(writeYamlConfig(fromNginx), "b.yaml");
    assert.equal(fromYaml.stream.upstreams.get("u")!.servers[0]!.weight, 2_000_000);
  });
});

describe("every balancing method survives YAML → nginx.conf → YAML", () => {
  const methods = [
    "least_conn: true",
    "hash: $remote_addr",
    "hash: { key: $remote_addr, consistent: true }",
    "hash: { key: $remote_addr, consistent: true, bounded: 1.25 }",
    "random: true",
    "random: { two: true, method: least_conn }",
  ];
  for (const m of methods) {
    test(m, () => {
      const yaml =
        `stream:\n  upstreams:\n    u:\n      ${m}\n      servers: ["127.0.0.1:1", "127.0.0.1:2"]\n  servers:\n    - { listen: 1, proxy_pass: u }\n`;
      const first = loadYamlConfig(yaml, "in.yaml");
      assert.notEqual(first.stream.upstreams.get("u")!.method.kind, "round_robin");
      const second = loadNginxConfig(writeNginxConfig(first, "in.yaml"), "out.conf").config;
      assert.deepEqual(comparable(second), comparable(first));
      assert.deepEqual(comparable(loadYamlConfig(writeYamlConfig(second), "back.yaml")), comparable(first));
    });
  }
});

describe("PROXY protocol and realip survive YAML → nginx.conf → YAML", () => {
  const cases = [
    `    - { listen: "8000 proxy_protocol", proxy_pass: u, set_real_ip_from: [127.0.0.1, "10.0.0.0/8", "::1", "unix:"] }`,
    `    - { listen: ["8000 proxy_protocol", 8001], proxy_pass: u, proxy_protocol: v2 }`,
  ];
  for (const server of cases) {
    test(server.trim(), () => {
      const yaml = `stream:\n  upstreams:\n    u:\n      servers: ["127.0.0.1:1"]\n  servers:\n${server}\n`;
      const first = loadYamlConfig(yaml, "in.yaml");
      const s = first.stream.servers[0]!;
      assert.equal(s.listen[0]!.proxyProtocol, true);
      assert.ok(s.realipFrom?.length === 4 || s.proxy.proxyProtocol === "v2");
      const second = loadNginxConfig(writeNginxConfig(first, "in.yaml"), "out.conf").config;
      assert.deepEqual(comparable(second), comparable(first));
      assert.deepEqual(comparable(loadYamlConfig(writeYamlConfig(second), "back.yaml")), comparable(first));
    });
  }

  test("stream{}'s set_real_ip_from reaches servers without their own, in both spellings", () => {
    const conf =
      `events {}\nstream { set_real_ip_from 127.0.0.0/8;\n server { listen 1 proxy_protocol; proxy_pass 127.0.0.1:9; }\n` +
      ` server { listen 2 proxy_protocol; proxy_pass 127.0.0.1:9; set_real_ip_from ::1; } }\n`;
    const fromNginx = loadNginxConfig(conf, "/a.conf").config;
    assert.deepEqual(fromNginx.stream.servers.map((s) => s.realipFrom), [["127.0.0.0/8"], ["::1"]]);
    const yaml = `stream:\n  set_real_ip_from: 127.0.0.0/8\n  servers:\n    - { listen: 1, proxy_pass: "127.0.0.1:9" }\n` +
      `    - { listen: 2, proxy_pass: "127.0.0.1:9", set_real_ip_from: "::1" }\n`;
    assert.deepEqual(loadYamlConfig(yaml, "a.yaml").stream.servers.map((s) => s.realipFrom), [["127.0.0.0/8"], ["::1"]]);
  });

  test("bad set_real_ip_from and listen parameters are refused with their place", () => {
    const bad = (line: string) => `events {}\nstream {\nserver { listen 1; proxy_pass 127.0.0.1:9;\n${line} }\n}\n`;
    // Host names (and "all", which is not allow/deny's `all` here) are kept for the load-time
    // lookup (test/unit/realip-hostname.test.ts); a malformed address is refused.
    assert.deepEqual(loadNginxConfig(bad("set_real_ip_from all;"), "/a.conf").config.stream.servers[0]!.realipFrom, ["all"]);
    assert.throws(() => loadNginxConfig(bad("set_real_ip_from 1.2.3.4/33;"), "/a.conf"), /invalid parameter .* in \/a\.conf:4/);
    assert.throws(
      () => loadNginxConfig(bad("listen 2 udp proxy_protocol;"), "/a.conf"),
      /"listen" directive "proxy_protocol" parameter is incompatible with "udp" in \/a\.conf:4/,
    );
    assert.throws(
      () => loadNginxConfig(bad("proxy_protocol v3;"), "/a.conf"),
      /invalid value "v3" in "proxy_protocol" directive/,
    );
    assert.throws(
      () =>
        loadYamlConfig(`stream:\n  servers:\n    - { listen: "1 udp proxy_protocol", proxy_pass: "127.0.0.1:9" }\n`, "a.yaml"),
      /incompatible with "udp"/,
    );
  });
});
