// TLS on a shared address (issue 15): the ClientHello's name chooses the server block and its
// certificate (server_name, nginx 1.25.5+), ssl_reject_handshake refuses a name with
// nginx's alert, and a backend that answers and closes ends its TLS client's session at once.
// Bad input (a renegotiation, a 64 KiB ClientHello) ends only its own connection.
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startBackend, startNamedEcho } from "../support/backends.ts";
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
      // A key others may read is warned about by name; one only its owner reads is not.
      chmodSync(certs.key("second"), 0o644);
      chmodSync(certs.key("localhost"), 0o600);
      const lb = await startStreamlb(target, conf);
      try {
        const secondKey = certs.key("second").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
        assert.match(
          lb.log(),
          new RegExp(`\\[warn\\] .*the certificate key "${secondKey}" is readable by group or others \\(mode 0644\\)`),
        );
        assert.doesNotMatch(lb.log(), /localhost\.key" is readable|BEGIN/);
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
    test("a renegotiation and a 64 KiB ClientHello end only their own connection", async () => {
      const echo = await startNamedEcho("echo");
      const [port, named] = await freePorts(2);
      const conf = writeConfig(
        `
error_log stderr info;
events {}
stream {
  ssl_certificate ${certs.cert("localhost")};
  ssl_certificate_key ${certs.key("localhost")};
  ssl_handshake_timeout 2s;
  server { listen 127.0.0.1:${port} ssl; proxy_pass ${echo.address}; }
  server { listen 127.0.0.1:${named} ssl; return "default\\n"; }
  server { listen 127.0.0.1:${named}; server_name x.test; return "x\\n"; }
}
`,
        "nginx.conf",
      );
      const lb = await startStreamlb(target, conf);
      try {
        // TLS 1.2 renegotiation is refused (nginx sets SSL_OP_NO_RENEGOTIATION); the client gives up.
        const reneg = await new Promise<string>((resolve, reject) => {
          const s = tls.connect({ host: "127.0.0.1", port: port!, rejectUnauthorized: false, maxVersion: "TLSv1.2" }, () => {
            s.once(
              "data",
              () => s.renegotiate({ rejectUnauthorized: false }, (e: Error | null) => resolve(e ? e.message : "renegotiated")),
            );
          });
          s.on("error", (e: Error) => resolve(e.message));
          setTimeout(() => reject(new Error("no verdict on the renegotiation within 10 s")), 10_000).unref();
        });
        assert.match(reneg, /renegotiation/i);
        assert.doesNotMatch(reneg, /^renegotiated$/);

        // A ClientHello of 64 KiB (four full records of a hello that claims 64 KiB) on both kinds
        // of listener: the connection ends, the listener serves the next client.
        const hello = new Uint8Array(4 * (5 + 16384));
        for (let r = 0; r < 4; r++) hello.set([0x16, 0x03, 0x01, 0x40, 0x00], r * (5 + 16384));
        // The handshake message fills the four records exactly: 65536 - 4 bytes after its header.
        hello.set([0x01, 0x00, 0xff, 0xfc, 0x03, 0x03], 5);
        for (const p of [port!, named!]) {
          const got = await new Promise<number>((resolve) => {
            let n = 0;
            const s = net.connect(p, "127.0.0.1", () => s.write(hello));
            s.on("data", (d: Buffer) => (n += d.length));
            s.on("error", () => {});
            s.on("close", () => resolve(n));
          });
          // At most an alert comes back, never a ServerHello's worth of bytes.
          assert.ok(got < 64, `${got} bytes came back`);
        }
        // rustls (Deno) waits on such a hello until ssl_handshake_timeout; the others refuse it at once.
        const ended = target === "deno"
          ? /\[info\] .*client timed out \(110: Connection timed out\) while SSL handshaking, client: 127\.0\.0\.1/
          : /\[info\] .*SSL_do_handshake\(\) failed \(SSL: .*\) while SSL handshaking, client: 127\.0\.0\.1/;
        await lb.waitForLog(ended);
        assert.deepEqual(await ask(named!, "x.test"), { text: "x\n", peerCn: "localhost", error: "" });
        const line = await new Promise<string>((resolve) => {
          const s = tls.connect({ host: "127.0.0.1", port: port!, rejectUnauthorized: false });
          s.setEncoding("utf8");
          s.once("data", (d: string) => (s.destroy(), resolve(d)));
          s.on("error", (e: Error) => resolve(e.message));
        });
        assert.equal(line, "echo\n");
      } finally {
        await lb.stop();
        await echo.close();
      }
    });
  });
}
