// proxy_upload_rate / proxy_download_rate with variables (nginx's complex value size slot):
// read in both spellings, written back, unknown variables refused at load, and evaluated per
// session to a size; a value that is no size is logged in nginx's words and means unlimited.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { sessionRate } from "../../src/core/rate-value.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import type { VariableContext } from "../../src/core/variables/context.ts";

const TEXT = `events {}
stream {
    map $server_port $down { default 1011; 8082 0; 8085 250k; 8086 nonsense; }
    proxy_download_rate $down;
    proxy_upload_rate 1k;
    server { listen 127.0.0.1:8081; proxy_pass 127.0.0.1:8080; }
    server { listen 127.0.0.1:8082; proxy_pass 127.0.0.1:8080; proxy_upload_rate $down; }
}
`;

describe("rates with variables", () => {
  test("read, written back in both spellings, and a literal stays a number", () => {
    const c = loadNginxConfig(TEXT, "in.conf").config;
    const [a, b] = c.stream.servers;
    assert.deepEqual([a!.proxy.proxyDownloadRate, a!.proxy.proxyUploadRate], ["$down", 1024]);
    assert.deepEqual([b!.proxy.proxyDownloadRate, b!.proxy.proxyUploadRate], ["$down", "$down"]);
    const again = loadNginxConfig(writeNginxConfig(c), "out.conf").config;
    assert.deepEqual(again.stream.servers.map((s) => [s.proxy.proxyDownloadRate, s.proxy.proxyUploadRate]), [
      ["$down", 1024],
      ["$down", "$down"],
    ]);
    const yaml = loadYamlConfig(writeYamlConfig(c), "out.yaml");
    assert.deepEqual(yaml.stream.servers.map((s) => [s.proxy.proxyDownloadRate, s.proxy.proxyUploadRate]), [
      ["$down", 1024],
      ["$down", "$down"],
    ]);
  });

  test("an unknown variable is refused at load; a literal that is no size too", () => {
    const bad = (line: string) => {
      try {
        loadNginxConfig(`events {}\nstream {\n${line}\nserver { listen 1; proxy_pass 127.0.0.1:9; }\n}\n`, "in.conf");
      } catch (e) {
        return (e as Error).message;
      }
      return "loaded";
    };
    assert.equal(bad("proxy_upload_rate $nope;"), `unknown "nope" variable`);
    assert.equal(bad("proxy_upload_rate 1x;"), `"proxy_upload_rate" directive invalid value in in.conf:3`);
  });

  test("each session evaluates its rate: a size, 0, or unlimited with nginx's line for no size", () => {
    const c = loadNginxConfig(TEXT, "in.conf").config;
    const vars = compileStreamVariables(c.stream);
    const value = vars.forServer(c.stream.servers[0]!).rates!.download;
    const lines: string[] = [];
    const rateAt = (port: number) => {
      const ctx = { serverPort: port, serverAddress: "127.0.0.1" } as unknown as VariableContext;
      const session = {
        variables: new SessionVariables(vars.registry, ctx),
        logClientError: (level: string, m: string) => lines.push(`[${level}] ${m}`),
      };
      return sessionRate("$down", value, session);
    };
    assert.deepEqual([rateAt(8081), rateAt(8082), rateAt(8085), rateAt(8086)], [1011, 0, 250 * 1024, 0]);
    assert.deepEqual(lines, [`[error] invalid size "nonsense"`]);
    assert.equal(sessionRate(2048, null, { variables: null as never, logClientError: () => {} }), 2048);
  });
});
