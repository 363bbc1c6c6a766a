// Routing by TLS name on real sockets (issue 15): ssl_preread's server name chooses the server
// block among those on one port (nginx 1.25.5+) and so its upstream, its access_log and its
// error_log; a regex server_name's captures feed proxy_pass and return, after ssl_preread and
// after a TLS handshake; proxy_ssl_alpn offers the upstream the protocols it evaluates to.
// Debian's nginx 1.22 has no stream server_name nor proxy_ssl_alpn: streamlb alone is checked.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { clientHelloMessage, records, sniExtension } from "../support/client-hello-bytes.ts";
import { startStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

/** Sends a ClientHello naming `name` in cleartext; the first line back, or all until close. */
function helloThenLine(port: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const s = net.connect(port, "127.0.0.1", () => s.write(records(clientHelloMessage({ extensions: [sniExtension(name)] }))));
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      text += d;
      // A backend echoes the hello after its name: its first line is the answer.
      if (text.includes("\n")) s.destroy(), resolve(text.slice(0, text.indexOf("\n") + 1));
    });
    s.on("error", () => {});
    s.on("close", () => resolve(text));
    setTimeout(() => reject(new Error(`no answer within 10 s (got ${JSON.stringify(text)})`)), 10_000).unref();
  });
}

/** A TLS client's read until the server closes. */
function tlsText(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options });
    s.setEncoding("utf8");
    s.on("data", (d: string) => (text += d));
    s.on("end", () => s.end());
    s.on("error", (e: Error) => (text += `error: ${e.message}`));
    s.on("close", () => resolve(text));
    setTimeout(() => reject(new Error(`no close within 10 s (got ${JSON.stringify(text)})`)), 10_000).unref();
  });
}

/** The file's lines once it has at least `n` (access logs are flushed every 100 ms here). */
async function lines(path: string, n: number): Promise<string[]> {
  const until = Date.now() + 5000;
  for (;;) {
    const all = (existsSync(path) ? readFileSync(path, "utf8") : "").split("\n").filter((l) => l !== "");
    if (all.length >= n) return all;
    if (Date.now() > until) throw new Error(`${path} has ${all.length} lines, expected ${n}: ${all.join(" / ")}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const target of TARGETS) {
  describe(`routing by TLS name on ${target}`, () => {
    let certs: Certs;
    let alpha: Backend;
    let beta: Backend;
    before(async () => {
      certs = makeCerts();
      alpha = await startNamedEcho("alpha");
      beta = await startNamedEcho("beta");
    });
    after(async () => {
      await alpha.close();
      await beta.close();
    });

    test("ssl_preread's name picks upstream and logs; regex captures feed proxy_pass and return; proxy_ssl_alpn", async () => {
      const [pre, term, alpn, back] = await freePorts(4);
      const dir = tempDir();
      const log = (name: string) => join(dir, name);
      const conf = writeConfig(
        `
error_log stderr info;
events {}
stream {
  log_format chosen "$server_name|$ssl_preread_server_name|$status|$upstream_addr";
  log_format tenant "$tenant|$upstream_addr";
  ssl_certificate ${certs.cert("localhost")};
  ssl_certificate_key ${certs.key("localhost")};
  upstream alpha { server ${alpha.address}; }
  upstream beta { server ${beta.address}; }
  server {
    listen 127.0.0.1:${pre};
    server_name default.test;
    ssl_preread on;
    return "default\\n";
    access_log ${log("default.log")} chosen buffer=4k flush=100ms;
  }
  server {
    listen 127.0.0.1:${pre};
    server_name alpha.test;
    proxy_pass alpha;
    access_log ${log("alpha.log")} chosen buffer=4k flush=100ms;
    error_log ${log("alpha-error.log")} info;
  }
  server {
    listen 127.0.0.1:${pre};
    server_name ~^(?<tenant>[a-z]+)\\.(alpha|beta)\\.tenants\\.test$;
    proxy_pass $2;
    access_log ${log("tenants.log")} tenant buffer=4k flush=100ms;
  }
  server { listen 127.0.0.1:${pre}; server_name ~^(?<who>[a-z]+)\\.echo\\.test$; return "who=$who 1=$1\\n"; }

  server { listen 127.0.0.1:${term} ssl; return "default\\n"; }
  server { listen 127.0.0.1:${term}; server_name ~^(?<who>[a-z]+)\\.echo\\.test$; return "tls who=$who\\n"; }

  server {
    listen 127.0.0.1:${alpn} ssl;
    ssl_alpn v1 v2;
    proxy_ssl on;
    proxy_ssl_alpn $ssl_alpn_protocol v2;
    proxy_pass 127.0.0.1:${back};
  }
  server { listen 127.0.0.1:${back} ssl; ssl_alpn v1 v2 v3; return "backend $ssl_alpn_protocol\\n"; }
}
`,
        "nginx.conf",
      );
      const lb = await startStreamlb(target, conf);
      try {
        // By name to each server's upstream; the backends greet with their names.
        assert.equal(await helloThenLine(pre!, "alpha.test"), "alpha\n");
        assert.equal(await helloThenLine(pre!, "dave.beta.tenants.test"), "beta\n");
        assert.equal(await helloThenLine(pre!, "erin.alpha.tenants.test"), "alpha\n");
        assert.equal(await helloThenLine(pre!, "Carol.Echo.Test"), "who=carol 1=carol\n");
        assert.equal(await helloThenLine(pre!, "other.test"), "default\n");

        // Each line goes to the access_log of the server that served the session.
        assert.deepEqual(await lines(log("alpha.log"), 1), [`alpha.test|alpha.test|200|${alpha.address}`]);
        assert.deepEqual((await lines(log("tenants.log"), 2)).sort(), [`dave|${beta.address}`, `erin|${alpha.address}`]);
        assert.deepEqual(await lines(log("default.log"), 1), ["default.test|other.test|200|-"]);
        // The proxying lines follow the chosen server's error_log, the accept stays with the default's.
        const alphaErrors = await lines(log("alpha-error.log"), 1);
        const proxied = alphaErrors
          .map((l) => new RegExp(`\\[info\\] .*(\\*\\d+) proxy 127\\.0\\.0\\.1:\\d+ connected to ${alpha.address}$`).exec(l)?.[1])
          .find((id) => id !== undefined);
        assert.ok(proxied, alphaErrors.join("\n"));
        assert.ok(!lb.log().includes(`${proxied} proxy`), lb.log());
        assert.match(lb.log(), new RegExp(`\\[info\\] .*client 127\\.0\\.0\\.1:\\d+ connected to 127\\.0\\.0\\.1:${pre}`));

        // After the handshake's SNI too.
        assert.equal(await tlsText(term!, { servername: "frank.echo.test" }), "tls who=frank\n");
        assert.equal(await tlsText(term!, { servername: "nobody.test" }), "default\n");

        // proxy_ssl_alpn: the client's protocol, then v2; an empty value is skipped.
        assert.equal(await tlsText(alpn!, { ALPNProtocols: ["v1"] }), "backend v1\n");
        assert.equal(await tlsText(alpn!, {}), "backend v2\n");
      } finally {
        await lb.stop();
      }
    });
  });
}
