// TLS on a shared address (issue 15): the ClientHello's name chooses the server block and its
// certificate (server_name, nginx 1.25.5+), ssl_reject_handshake refuses a name with
// nginx's alert, and a backend that answers and closes ends its TLS client's session at once.
import assert from "node:assert/strict";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startBackend } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { startStreamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

interface Answer {
  readonly text: string;
  readonly peerCn: string;
  /** The handshake's or socket's error, "" when the server closed cleanly. */
  readonly error: string;
}

/** Connects with `servername` (none when null), reads until the server closes. */
function ask(port: number, servername: string | null): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let text = "";
    let peerCn = "";
    let error = "";
    const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...(servername && { servername }) }, () => {
      peerCn = String(s.getPeerCertificate().subject?.CN ?? "");
    });
    s.setEncoding("utf8");
    s.on("data", (d: string) => (text += d));
    s.on("end", () => s.end());
    s.on("error", (e: Error) => (error = e.message));
    s.on("close", () => resolve({ text, peerCn, error }));
    setTimeout(() => reject(new Error(`no close within 10 s (got ${JSON.stringify(text)})`)), 10_000).unref();
  });
}

for (const target of TARGETS) {
  describe(`TLS server_name on ${target}`, () => {
    let certs: Certs;
    let bye: Backend;
    before(async () => {
      certs = makeCerts();
      bye = await startBackend("bye", 0, (s) => s.end("bye\n"));
    });
    after(() => bye.close());

    test("SNI picks the server block and certificate; reject_handshake refuses; a closing backend ends the session", async () => {
      const [shared, proxied] = await freePorts(2);
      const conf = writeConfig(
        `
error_log stderr info;
events {}
stream {
  ssl_certificate ${certs.cert("localhost")};
  ssl_certificate_key ${certs.key("localhost")};
  server { listen 127.0.0.1:${shared} ssl; return "default $ssl_server_name\\n"; }
  server {
    listen 127.0.0.1:${shared};
    server_name second.test;
    ssl_certificate ${certs.cert("second")};
    ssl_certificate_key ${certs.key("second")};
    return "second $server_name\\n";
  }
  server { listen 127.0.0.1:${shared}; server_name *.wild.test; return "wild $server_name\\n"; }
  server { listen 127.0.0.1:${shared}; server_name reject.test; ssl_reject_handshake on; return "never\\n"; }
  server { listen 127.0.0.1:${proxied} ssl; proxy_timeout 1m; proxy_pass ${bye.address}; }
}
`,
        "nginx.conf",
      );
      const lb = await startStreamlb(target, conf);
      try {
        assert.deepEqual(await ask(shared!, "second.test"), { text: "second second.test\n", peerCn: "second.test", error: "" });
        // A server without certificates of its own is served with the default server's.
        assert.deepEqual(await ask(shared!, "a.wild.test"), { text: "wild *.wild.test\n", peerCn: "localhost", error: "" });
        assert.deepEqual(await ask(shared!, "other.test"), { text: "default other.test\n", peerCn: "localhost", error: "" });
        assert.deepEqual(await ask(shared!, null), { text: "default \n", peerCn: "localhost", error: "" });

        const rejected = await ask(shared!, "reject.test");
        assert.equal(rejected.text, "");
        assert.match(rejected.error, /unrecognized name/i);
        await lb.waitForLog(
          /\[info\] .*\*\d+ SSL_do_handshake\(\) failed \(SSL: error:0A0000EA:SSL routines::callback failed\) while SSL handshaking, client: 127\.0\.0\.1/,
        );

        // The backend's FIN ends the session (proxy_half_close off) well before proxy_timeout.
        assert.deepEqual(await ask(proxied!, "localhost"), { text: "bye\n", peerCn: "localhost", error: "" });
      } finally {
        await lb.stop();
      }
    });
  });
}
