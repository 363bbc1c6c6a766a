// `streamlb convert`: nginx.conf → YAML → the same Config, and YAML → nginx.conf → the same
// Config (source locations aside, as the text moves).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import type { Config } from "../../src/core/config/model.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";

/** The model as plain data without where things were written (maps as entry lists). */
function comparable(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === "loc" || key === "proxyPassLoc" || key === "file") return undefined;
      return value instanceof Map ? [...value.entries()] : value;
    }),
  );
}

const fromNginx = (text: string) => loadNginxConfig(text, "in.conf").config;
const fromYaml = (text: string) => loadYamlConfig(text, "in.yaml");

const NGINX = `
user nginx;
worker_processes 4;
pid /run/streamlb.pid;
error_log /var/log/streamlb.log warn;
worker_shutdown_timeout 1m30s;
events { worker_connections 1024; }
stream {
    proxy_connect_timeout 2s;
    tcp_nodelay off;
    upstream rr {
        server 10.0.0.1:6000 weight=5 max_fails=3 fail_timeout=30s;
        server 10.0.0.2:6000 max_conns=100 down;
        server backend.example:6000 backup;
    }
    upstream lc {
        least_conn;
        server 10.0.0.3:6000;
        server [2001:db8::1]:6000 backup;
    }
    upstream "h a s h" {
        hash "$remote_addr:$remote_port" consistent;
        server 10.0.0.4:6000 weight=2;
        server 10.0.0.5:6000 max_fails=0;
    }
    upstream rnd {
        random two least_conn;
        server 10.0.0.6:6000;
        server 10.0.0.7:6000 fail_timeout=1M;
    }
    server {
        listen 8000;
        listen 127.0.0.1:8001;
        listen [::1]:8002;
        proxy_pass rr;
        proxy_timeout 3s;
        proxy_buffer_size 4000;
    }
    server {
        listen 8100-8102;
        proxy_pass lc;
        proxy_next_upstream off;
        proxy_next_upstream_tries 2;
        proxy_next_upstream_timeout 500ms;
        proxy_half_close on;
        proxy_socket_keepalive on;
    }
    server { listen 8200; proxy_pass "h a s h"; }
    server { listen 8300; proxy_pass rnd; tcp_nodelay on; }
    server { listen 8400; proxy_pass 10.0.0.9:7000; proxy_buffer_size 1m; }
}
`;

const YAML = `
pid: /run/streamlb.pid
worker_processes: auto
error_log: { path: stderr, level: info }
stream:
  proxy_connect_timeout: 1s
  upstreams:
    MyServer:
      servers:
        - { address: "127.0.0.1:6000", weight: 1, max_fails: 3, fail_timeout: 30s }
        - { address: "127.0.0.1:6002", weight: 2, max_fails: 3, fail_timeout: 30s }
    sticky:
      hash: { key: $remote_addr, consistent: true }
      servers: ["127.0.0.1:7000", "127.0.0.1:7001"]
  servers:
    - listen: 8000
      proxy_pass: MyServer
      proxy_timeout: 3s
    - listen: ["127.0.0.1:8001", 8002]
      proxy_pass: sticky
    - listen: 8003
      proxy_pass: "127.0.0.1:9000"
      proxy_half_close: on
`;

// Every TLS setting streamlb runs, away from its default, terminating and originating.
const NGINX_TLS = `
events {}
stream {
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:SSL:1m builtin:1000;
    server {
        listen 127.0.0.1:8443 ssl default_server;
        listen unix:/tmp/tls.sock ssl;
        server_name example.com "*.example.org";
        ssl_certificate rsa.pem;
        ssl_certificate ecdsa.pem;
        ssl_certificate_key rsa.key;
        ssl_certificate_key ecdsa.key;
        ssl_password_file pass.txt;
        ssl_ciphers "ECDHE+AESGCM:!aNULL";
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1;
        ssl_session_timeout 10m;
        ssl_session_tickets off;
        ssl_handshake_timeout 5s;
        ssl_verify_client optional;
        ssl_verify_depth 3;
        ssl_client_certificate ca.pem;
        ssl_trusted_certificate trusted.pem;
        ssl_crl crl.pem;
        ssl_alpn h2 http/1.1;
        proxy_pass 127.0.0.1:9000;
        proxy_ssl on;
        proxy_ssl_server_name on;
        proxy_ssl_name "$ssl_server_name";
        proxy_ssl_verify on;
        proxy_ssl_verify_depth 2;
        proxy_ssl_trusted_certificate backend-ca.pem;
        proxy_ssl_crl backend.crl;
        proxy_ssl_certificate client.pem;
        proxy_ssl_certificate_key client.key;
        proxy_ssl_password_file client-pass.txt;
        proxy_ssl_protocols TLSv1.2;
        proxy_ssl_ciphers HIGH;
        proxy_ssl_session_reuse off;
    }
    server { listen 8444 ssl; ssl_reject_handshake on; return ""; }
    server { listen 8445; proxy_pass 127.0.0.1:9001; }
}
`;

describe("convert", () => {
  test("TLS: nginx.conf → YAML → nginx.conf gives the same Config, every setting kept", () => {
    const config = fromNginx(NGINX_TLS);
    assert.ok(config.stream.servers[0]!.tls?.proxySslCertificateKey, "the fixture sets TLS");
    const yaml = writeYamlConfig(config, "in.conf");
    const viaYaml = fromYaml(yaml);
    assert.deepEqual(comparable(viaYaml), comparable(config), yaml);
    const nginx = writeNginxConfig(viaYaml);
    assert.deepEqual(comparable(fromNginx(nginx)), comparable(config), nginx);
    assert.match(yaml, /^ {4}- listen: \["127\.0\.0\.1:8443 ssl default_server", "unix:\/tmp\/tls\.sock ssl"\]$/m);
    assert.match(yaml, /^ {6}ssl_certificate: \[rsa\.pem, ecdsa\.pem\]$/m);
  });

  test("TLS settings all at their defaults still mark the server, both ways", () => {
    const config = fromNginx("events {}\nstream {\n server { listen 1; proxy_ssl off; proxy_pass 127.0.0.1:1; }\n}\n");
    assert.ok(config.stream.servers[0]!.tls);
    assert.deepEqual(comparable(fromYaml(writeYamlConfig(config))), comparable(config));
    assert.deepEqual(comparable(fromNginx(writeNginxConfig(config))), comparable(config));
  });

  test("nginx.conf → YAML → the same Config", () => {
    const config = fromNginx(NGINX);
    const yaml = writeYamlConfig(config, "in.conf");
    assert.deepEqual(comparable(fromYaml(yaml)), comparable(config), yaml);
  });

  test("nginx.conf → nginx.conf → the same Config", () => {
    const config = fromNginx(NGINX);
    const text = writeNginxConfig(config, "in.conf");
    assert.deepEqual(comparable(fromNginx(text)), comparable(config), text);
  });

  test("YAML → nginx.conf → the same Config, and back to YAML", () => {
    const config = fromYaml(YAML);
    const nginx = writeNginxConfig(config, "in.yaml");
    const viaNginx = fromNginx(nginx);
    assert.deepEqual(comparable(viaNginx), comparable(config), nginx);
    assert.deepEqual(comparable(fromYaml(writeYamlConfig(viaNginx))), comparable(config));
  });

  test("backup before hash, which nginx accepts, survives a round trip through nginx.conf", () => {
    const config = fromNginx(
      "events {}\nstream {\n upstream u { server 10.0.0.1:1; server 10.0.0.2:1 backup; hash $remote_addr; }\n server { listen 1; proxy_pass u; }\n}\n",
    );
    assert.deepEqual(comparable(fromNginx(writeNginxConfig(config))), comparable(config));
  });

  test("settings every server shares are written once in stream{}", () => {
    const yaml = writeYamlConfig(fromNginx(NGINX));
    assert.match(yaml, /^stream:\n {2}proxy_connect_timeout: 2s\n/m);
    assert.match(yaml, /^ {6}proxy_timeout: 3s$/m);
    const nginx = writeNginxConfig(fromYaml(YAML));
    assert.match(nginx, /^stream \{\n {4}proxy_connect_timeout 1s;$/m);
    assert.match(nginx, /^events \{\n\}$/m, "nginx requires events{}");
  });

  test("the YAML reads like the seed's", () => {
    assert.equal(
      writeYamlConfig(fromYaml(YAML)),
      `# streamlb config
pid: /run/streamlb.pid
worker_processes: auto
error_log: { path: stderr, level: info }
stream:
  proxy_connect_timeout: 1s
  upstreams:
    MyServer:
      servers:
        - { address: "127.0.0.1:6000", max_fails: 3, fail_timeout: 30s }
        - { address: "127.0.0.1:6002", weight: 2, max_fails: 3, fail_timeout: 30s }
    sticky:
      hash: { key: "$remote_addr", consistent: true }
      servers:
        - "127.0.0.1:7000"
        - "127.0.0.1:7001"
  servers:
    - listen: 8000
      proxy_pass: MyServer
      proxy_timeout: 3s
    - listen: ["127.0.0.1:8001", 8002]
      proxy_pass: sticky
    - listen: 8003
      proxy_pass: "127.0.0.1:9000"
      proxy_half_close: true
`,
    );
  });
});
