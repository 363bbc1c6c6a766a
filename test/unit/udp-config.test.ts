// `listen … udp [reuseport]`, proxy_requests and proxy_responses in both spellings, and that
// each writer reads back to the same model.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import type { Config } from "../../src/core/config/model.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";

const NGINX = `events {}
stream {
    proxy_responses 1;
    upstream dns { hash $remote_addr consistent; server 127.0.0.1:5301; server 127.0.0.1:5302; }
    server { listen 127.0.0.1:5300 udp reuseport; proxy_pass dns; proxy_timeout 20s; }
    server { listen 127.0.0.1:5314 udp; proxy_pass 127.0.0.1:514; proxy_responses 0; proxy_requests 1; }
    server { listen 127.0.0.1:5300; proxy_pass dns; }
}
`;

const YAML = `stream:
  upstreams:
    dns:
      hash: { key: $remote_addr, consistent: true }
      servers: ["127.0.0.1:5301", "127.0.0.1:5302"]
  proxy_responses: 1
  servers:
    - listen: "127.0.0.1:5300 udp reuseport"
      proxy_pass: dns
      proxy_timeout: 20s
    - listen: "127.0.0.1:5314 udp"
      proxy_pass: "127.0.0.1:514"
      proxy_responses: 0
      proxy_requests: 1
    - listen: "127.0.0.1:5300"
      proxy_pass: dns
`;

function listens(config: Config) {
  return config.stream.servers.map((s) => ({
    listen: s.listen.map((l) => `${l.host}:${l.port}${l.udp ? " udp" : ""}${l.reusePort ? " reuseport" : ""}`),
    requests: s.proxy.proxyRequests,
    responses: s.proxy.proxyResponses,
  }));
}

const EXPECTED = [
  { listen: ["127.0.0.1:5300 udp reuseport"], requests: 0, responses: 1 },
  { listen: ["127.0.0.1:5314 udp"], requests: 1, responses: 0 },
  { listen: ["127.0.0.1:5300"], requests: 0, responses: 1 },
];

describe("UDP in the config", () => {
  test("nginx and YAML spell the same listeners and limits", () => {
    assert.deepEqual(listens(loadNginxConfig(NGINX, "in.conf").config), EXPECTED);
    assert.deepEqual(listens(loadYamlConfig(YAML, "in.yaml")), EXPECTED);
  });

  test("each writer reads back to the same listeners and limits", () => {
    const config = loadNginxConfig(NGINX, "in.conf").config;
    assert.deepEqual(listens(loadYamlConfig(writeYamlConfig(config), "out.yaml")), EXPECTED);
    assert.deepEqual(listens(loadNginxConfig(writeNginxConfig(config), "out.conf").config), EXPECTED);
  });

  test("YAML refuses what it does not know in a listen, and reuseport without udp", () => {
    const bad = (listen: string) =>
      assert.throws(() =>
        loadYamlConfig(`stream:\n  servers:\n    - { listen: "${listen}", proxy_pass: "127.0.0.1:9" }\n`, "in.yaml")
      );
    bad("127.0.0.1:53 udp ssl");
    bad("127.0.0.1:53 reuseport");
    assert.throws(
      () =>
        loadYamlConfig(
          `stream:\n  servers:\n    - { listen: "53 udp", proxy_pass: "127.0.0.1:9", proxy_requests: -1 }\n`,
          "in.yaml",
        ),
    );
  });
});
