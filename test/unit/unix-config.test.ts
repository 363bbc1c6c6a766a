// unix: sockets in the config: `listen unix:/path`, upstream `server unix:/path` and
// `proxy_pass unix:/path` (nginx's implicit upstream), read from nginx.conf and YAML, written
// back by both writers, with nginx's messages for a bad path; tcp{} still refuses them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Config } from "../../src/core/config/model.ts";
import { listenKey } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";

const TEXT = `events {}
stream {
    upstream u { server unix:/tmp/b.sock weight=2; server 127.0.0.1:9000; }
    server { listen unix:/tmp/front.sock; proxy_pass u; }
    server { listen 127.0.0.1:8000; proxy_pass unix:/tmp/b.sock; }
    server { listen 127.0.0.1:8001; return $remote_addr; allow unix:; deny all; }
}
`;

function comparable(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === "loc" || key === "proxyPassLoc" || key === "file") return undefined;
      return value instanceof Map ? [...value.entries()] : value;
    }),
  );
}
const errorOf = (text: string) => {
  try {
    loadNginxConfig(text, "in.conf");
  } catch (e) {
    return (e as Error).message;
  }
  return "loaded";
};

describe("unix sockets in the config", () => {
  test("listen, upstream server and proxy_pass take unix:/path", () => {
    const c = loadNginxConfig(TEXT, "in.conf").config;
    const [front, plain] = c.stream.servers;
    assert.equal(front!.listen[0]!.unixPath, "/tmp/front.sock");
    assert.equal(listenKey(front!.listen[0]!), "unix:/tmp/front.sock");
    assert.deepEqual(c.stream.upstreams.get("u")!.servers.map((s) => [s.address, s.unixPath, s.weight]), [
      ["unix:/tmp/b.sock", "/tmp/b.sock", 2],
      ["127.0.0.1:9000", undefined, 1],
    ]);
    const implicit = c.stream.upstreams.get(plain!.proxyPass!)!;
    assert.deepEqual([implicit.implicit, implicit.servers[0]!.unixPath], [true, "/tmp/b.sock"]);
  });

  test("both writers read back into the same config, and YAML spells it the same way", () => {
    const c = loadNginxConfig(TEXT, "in.conf").config;
    assert.deepEqual(comparable(loadNginxConfig(writeNginxConfig(c), "out.conf").config), comparable(c));
    assert.deepEqual(comparable(loadYamlConfig(writeYamlConfig(c), "out.yaml")), comparable(c));
    const yaml = loadYamlConfig(
      `stream:\n  upstreams:\n    u: { servers: ["unix:/tmp/b.sock"] }\n  servers:\n    - { listen: "unix:/tmp/f.sock", proxy_pass: u }\n`,
      "in.yaml",
    );
    assert.deepEqual([yaml.stream.servers[0]!.listen[0]!.unixPath, yaml.stream.upstreams.get("u")!.servers[0]!.unixPath], [
      "/tmp/f.sock",
      "/tmp/b.sock",
    ]);
  });

  test("nginx's messages for a bad path; tcp{} has no unix sockets", () => {
    const inServer = (line: string) => `events {}\nstream {\nserver { ${line} }\n}\n`;
    assert.equal(
      errorOf(inServer("listen unix:; proxy_pass 127.0.0.1:9;")),
      `no path in the unix domain socket in "unix:" of the "listen" directive in in.conf:3`,
    );
    assert.equal(
      errorOf(inServer(`listen 1; proxy_pass unix:/${"x".repeat(120)};`)),
      `too long path in the unix domain socket in upstream "unix:/${"x".repeat(120)}" in in.conf:3`,
    );
    assert.equal(
      errorOf(`events {}\ntcp {\nserver { listen unix:/tmp/a.sock; proxy_pass 127.0.0.1:9; }\n}\n`),
      `unix sockets are not supported yet in "unix:/tmp/a.sock" of the "listen" directive in in.conf:3`,
    );
  });
});
