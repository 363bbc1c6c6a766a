// -p: every path-valued directive of the directive table resolves against the prefix, and the
// table and the rewriters name the same directives.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { PATH_REWRITERS, pathDirectives, prefixPaths } from "../../src/core/config/prefix-paths.ts";
import { DIRECTIVES } from "../../src/core/config/schema/table.ts";

const at = (p: string) => (p.startsWith("/") ? p : `/prefix/${p}`);

const CONF = `pid run/lb.pid;
error_log logs/error.log;
events {}
stream {
  upstream u { state state/u.state; server 127.0.0.1:2; }
  server { listen 127.0.0.1:1; proxy_pass u; access_log logs/a.log; access_log /abs/b.log; }
}
`;

describe("prefix paths", () => {
  test("the table's path directives and the rewriters are the same set", () => {
    assert.deepEqual(pathDirectives().sort(), Object.keys(PATH_REWRITERS).sort());
    assert.ok(pathDirectives().length >= 4, "pid, error_log, access_log, state");
  });

  test("every path-valued directive of a config resolves against the prefix, absolute ones stay", () => {
    const { config } = loadNginxConfig(CONF, "/etc/lb.conf");
    const c = prefixPaths(config, at);
    assert.equal(c.pid, "/prefix/run/lb.pid");
    assert.equal(c.errorLog.path, "/prefix/logs/error.log");
    assert.equal(c.stream.upstreams.get("u")!.state, "/prefix/state/u.state");
    assert.deepEqual(c.stream.servers[0]!.accessLog.map((l) => l.path), ["/prefix/logs/a.log", "/abs/b.log"]);
    // The config read is left as it was.
    assert.equal(config.errorLog.path, "logs/error.log");
  });

  test("TLS certificates, keys and trust files resolve against the prefix too", () => {
    const { config } = loadNginxConfig(
      `events {}\nstream { server { listen 1 ssl; proxy_pass 127.0.0.1:2; ssl_certificate c.pem; ` +
        `ssl_certificate_key /k/c.key; ssl_client_certificate ca.pem; proxy_ssl on; proxy_ssl_trusted_certificate t.pem; } }\n`,
      "/t.conf",
    );
    const tls = prefixPaths(config, at).stream.servers[0]!.tls!;
    assert.deepEqual(tls.certificates, [{ cert: "/prefix/c.pem", key: "/k/c.key" }]);
    assert.equal(tls.clientCertificate, "/prefix/ca.pem");
    assert.equal(tls.proxySslTrustedCertificate, "/prefix/t.pem");
    assert.equal(tls.crl, null);
  });

  test("stderr and absent paths are left alone", () => {
    const { config } = loadNginxConfig("events {}\nstream { server { listen 1; proxy_pass 127.0.0.1:2; } }\n", "/t.conf");
    const c = prefixPaths(config, at);
    assert.equal(c.pid, config.pid);
    assert.equal(c.errorLog.path, config.errorLog.path);
  });

  test("a path directive the rewriters do not know is an error, not a relative path left behind", () => {
    const { config } = loadNginxConfig(CONF, "/etc/lb.conf");
    const table = DIRECTIVES.map((r) => (r.name === "log_format" ? { ...r, path: true } : r));
    assert.throws(() => prefixPaths(config, at, table), /"log_format" names a path/);
  });
});
