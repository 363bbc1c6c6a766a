// proxy_bind: read as nginx reads it (merge, `off`, nginx's messages, `transparent` refused),
// the same in YAML and through both writers, and evaluated per session: an address binds, an
// empty value binds nothing, a value that is no address is logged and binds nothing.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { localBind } from "../../src/core/proxy-bind.ts";
import { ComplexValue } from "../../src/core/variables/complex-value.ts";
import { VariableRegistry } from "../../src/core/variables/registry.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import type { VariableContext } from "../../src/core/variables/context.ts";

const TEXT = `events {}
stream {
    proxy_bind 127.0.0.2;
    server { listen 1; proxy_pass 127.0.0.1:9; }
    server { listen 2; proxy_pass 127.0.0.1:9; proxy_bind off; }
    server { listen 3; proxy_pass 127.0.0.1:9; proxy_bind $remote_addr; }
    server { listen 4; proxy_pass 127.0.0.1:9; proxy_bind [::1]; }
}
`;
const errorOf = (line: string) => {
  try {
    loadNginxConfig(`events {}\nstream {\nserver { listen 1; proxy_pass 127.0.0.1:9; ${line} }\n}\n`, "in.conf");
  } catch (e) {
    return (e as Error).message;
  }
  return "loaded";
};

describe("proxy_bind", () => {
  test("merged as nginx merges it, and read back from both writers", () => {
    const c = loadNginxConfig(TEXT, "in.conf").config;
    const binds = (cfg: typeof c) => cfg.stream.servers.map((s) => s.proxyBind);
    assert.deepEqual(binds(c), ["127.0.0.2", undefined, "$remote_addr", "[::1]"]);
    assert.deepEqual(binds(loadNginxConfig(writeNginxConfig(c), "out.conf").config), binds(c));
    assert.deepEqual(binds(loadYamlConfig(writeYamlConfig(c), "out.yaml")), binds(c));
  });

  test("nginx's messages; transparent is refused, never ignored", () => {
    assert.equal(errorOf("proxy_bind 1.2.3;"), `invalid address "1.2.3" in in.conf:3`);
    assert.match(
      errorOf("proxy_bind $remote_addr transparent;"),
      /^"proxy_bind \.\.\. transparent" is not supported: .* in in\.conf:3$/,
    );
    assert.equal(errorOf("proxy_bind 127.0.0.2 x;"), `invalid parameter "x" in in.conf:3`);
    assert.equal(errorOf("proxy_bind $nope;"), `unknown "nope" variable`);
  });

  test("per session: an address, nothing for an empty value, a logged line for no address", () => {
    const registry = new VariableRegistry();
    const value = ComplexValue.compile("$remote_addr", registry);
    const lines: string[] = [];
    const at = (addr: string) =>
      localBind("$remote_addr", value, {
        variables: new SessionVariables(registry, { remoteAddress: addr } as unknown as VariableContext),
        logClientError: (_l, m) => lines.push(m),
      });
    assert.deepEqual([at("127.0.0.5"), at("::1"), at(""), at("unix:")], [
      { localAddress: "127.0.0.5" },
      { localAddress: "::1" },
      {},
      {},
    ]);
    assert.deepEqual(lines, [`invalid local address "unix:"`]);
    assert.deepEqual(localBind("[::1]", null, { variables: null as never, logClientError: () => {} }), { localAddress: "::1" });
  });
});
