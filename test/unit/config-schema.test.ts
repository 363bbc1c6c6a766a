// One directive, one meaning: every setting the YAML and nginx spellings share survives
// YAML → model → nginx.conf → model → YAML, and the two readers draw the same line between
// a value they take and one they refuse. (Hand-listed settings for now; the schema replaces
// the list.)
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Config } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/nginx.ts";
import { writeNginxConfig } from "../../src/core/config/write-nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write-yaml.ts";
import { loadYamlConfig } from "../../src/core/config/yaml.ts";

type Place = "main" | "events" | "stream" | "server" | "upstream_server";

interface Case {
  readonly place: Place;
  readonly name: string;
  /** A value other than the default, spelled for YAML. */
  readonly yaml: string;
  /** Whole numbers on either side of the reader's bounds. */
  readonly edges?: readonly number[];
}

const CASES: readonly Case[] = [
  { place: "main", name: "pid", yaml: "/run/x.pid" },
  { place: "main", name: "worker_processes", yaml: "3" },
  { place: "main", name: "worker_shutdown_timeout", yaml: "10s" },
  { place: "main", name: "shutdown_grace", yaml: "5s" },
  { place: "events", name: "worker_connections", yaml: "64", edges: [0, 1, 2_000_000] },
  ...["proxy_connect_timeout", "proxy_timeout", "proxy_next_upstream_timeout"].map((name) => ({ place: "stream" as const, name, yaml: "7s" })),
  ...["proxy_next_upstream", "tcp_nodelay"].map((name) => ({ place: "stream" as const, name, yaml: "false" })),
  ...["proxy_half_close", "proxy_socket_keepalive", "proxy_session_drop"].map((name) => ({ place: "stream" as const, name, yaml: "true" })),
  { place: "stream", name: "proxy_next_upstream_tries", yaml: "3" },
  { place: "stream", name: "proxy_buffer_size", yaml: "4k" },
  { place: "server", name: "proxy_timeout", yaml: "9s" },
  { place: "upstream_server", name: "weight", yaml: "5", edges: [0, 1, 1_000_000, 1_000_001, 2_000_000] },
  { place: "upstream_server", name: "max_fails", yaml: "4", edges: [0, 1, 2_000_000] },
  { place: "upstream_server", name: "fail_timeout", yaml: "20s" },
  { place: "upstream_server", name: "max_conns", yaml: "9", edges: [0, 1, 2_000_000] },
  ...["backup", "down", "drain"].map((name) => ({ place: "upstream_server" as const, name, yaml: "true" })),
  { place: "upstream_server", name: "slow_start", yaml: "30s" },
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
    "    - listen: 8000",
    "      proxy_pass: u",
    `      ${at("server")}`,
    "    - listen: 8001",
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
