// TLS from a YAML config on every target: a server terminates with the test CA's certificate
// and originates TLS to a backend it verifies, so bytes cross two TLS hops both ways.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { freePorts } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { startStreamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

/** A TLS backend that greets with the protocol its client spoke, then echoes. */
function tlsBackend(certs: Certs): Promise<{ port: number; close(): Promise<void> }> {
  const server = tls.createServer({ cert: certs.pem("localhost"), key: readFileSync(certs.key("localhost"), "utf8") }, (s) => {
    s.on("error", () => s.destroy());
    s.write(`backend saw ${s.getProtocol()}\n`);
    s.pipe(s);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }));
  });
}

/** Connects verifying the CA and `localhost`, sends a line, resolves with the two lines back. */
function roundTrip(port: number, ca: string): Promise<{ text: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca, minVersion: "TLSv1.3" }, () => {
      s.write("hello through two hops\n");
    });
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      text += d;
      if (text.split("\n").length > 2) {
        const protocol = s.getProtocol();
        s.destroy();
        resolve({ text, protocol });
      }
    });
    s.on("error", reject);
    setTimeout(() => reject(new Error(`no answer within 10 s: ${JSON.stringify(text)}`)), 10_000).unref();
  });
}

for (const target of TARGETS) {
  describe(`TLS from YAML on ${target}`, () => {
    let certs: Certs;
    let backend: { port: number; close(): Promise<void> };
    before(async () => {
      certs = makeCerts();
      backend = await tlsBackend(certs);
    });
    after(() => backend.close());

    test("terminates with ssl_* keys and proxies with proxy_ssl_* keys", async () => {
      const [port] = await freePorts(1);
      const conf = writeConfig(`
error_log: { path: stderr, level: info }
stream:
  ssl_protocols: [TLSv1.3]
  servers:
    - listen: "127.0.0.1:${port} ssl"
      ssl_certificate: ${JSON.stringify(certs.cert("localhost"))}
      ssl_certificate_key: ${JSON.stringify(certs.key("localhost"))}
      proxy_pass: "127.0.0.1:${backend.port}"
      proxy_ssl: true
      proxy_ssl_verify: true
      proxy_ssl_name: localhost
      proxy_ssl_server_name: true
      proxy_ssl_trusted_certificate: ${JSON.stringify(certs.cert("ca"))}
      proxy_ssl_protocols: [TLSv1.2]
`);
      const lb = await startStreamlb(target, conf);
      try {
        const got = await roundTrip(port!, certs.pem("ca"));
        // The client's hop is TLS 1.3 (ssl_protocols), the backend's TLS 1.2 (proxy_ssl_protocols).
        assert.equal(got.protocol, "TLSv1.3");
        assert.equal(got.text, "backend saw TLSv1.2\nhello through two hops\n");
      } finally {
        await lb.stop();
      }
    });
  });
}
