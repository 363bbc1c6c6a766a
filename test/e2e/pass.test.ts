// `pass` (nginx 1.25.5) over real sockets, on every target: a connection handed from one
// listener to another starts over there, with or without TLS on either listener, and the
// access log holds only the sessions that did not pass. Debian's nginx (1.22) has no `pass`,
// so nothing is compared with it; what nginx 1.25.5+ does is asserted instead.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { startStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

interface Reply {
  readonly text: string;
  /** The TLS protocol the client saw; "" over plain TCP. */
  readonly protocol: string;
}

/** Connects (over TLS when `tlsName` is set: SNI, or "" for none), sends `send`, reads until `done` or the peer closes. */
function talk(port: number, send: string, done: (text: string) => boolean, tlsName?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = tlsName === undefined ? net.connect(port, "127.0.0.1", () => socket.write(send)) : tls.connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, ...(tlsName !== "" && { servername: tlsName }) },
      () => socket.write(send),
    );
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no whole reply from ${port}: got ${JSON.stringify(text)}`));
    }, 5000);
    const finish = () => {
      clearTimeout(timer);
      const protocol = socket instanceof tls.TLSSocket ? socket.getProtocol() ?? "" : "";
      socket.destroy();
      resolve({ text, protocol });
    };
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
      if (done(text)) finish();
    });
    // A reset after the server closed is how a session that ended unread looks: no error here.
    socket.on("error", () => {});
    socket.on("close", finish);
  });
}

describe("pass over real sockets", () => {
  let certs: Certs;
  let echo: Backend;
  before(async () => {
    certs = makeCerts();
    echo = await startNamedEcho("echo");
  });
  after(() => echo.close());

  for (const target of TARGETS) {
    test(`${target}: connections start over on the listener passed to, TLS or not`, async () => {
      const [variable, peek, front, preread, tlsBack, plainBack] = await freePorts(6);
      const dir = tempDir();
      const log = join(dir, "access.log");
      const conf = writeConfig(
        `
error_log stderr info;
events {}
stream {
  log_format s "$status $name $server_port";
  access_log ${log} s;
  ssl_certificate ${certs.cert("localhost")};
  ssl_certificate_key ${certs.key("localhost")};
  map $server_port $to { default 127.0.0.1:${plainBack}; }
  server { listen 127.0.0.1:${variable}; set $name variable; pass $to; }
  server { listen 127.0.0.1:${peek}; set $name peek; ssl_preread on; pass 127.0.0.1:${tlsBack}; }
  server { listen 127.0.0.1:${front} ssl; set $name front; pass 127.0.0.1:${plainBack}; }
  server { listen 127.0.0.1:${preread} ssl; set $name preread; ssl_preread on; pass 127.0.0.1:${plainBack}; }
  server { listen 127.0.0.1:${tlsBack} ssl; set $name tls; return "tls $ssl_server_name $server_port\\n"; }
  server { listen 127.0.0.1:${plainBack}; set $name plain; proxy_pass ${echo.address}; }
}
`,
        "pass.conf",
      );
      const lb = await startStreamlb(target, conf);
      const echoed = (t: string) => t.endsWith("ping\n");
      try {
        // Plain, through a variable, to a listener that proxies: the echo backend answers.
        assert.deepEqual(await talk(variable!, "ping\n", echoed), { text: "echo\nping\n", protocol: "" });
        // ssl_preread reads the ClientHello on plain TCP (nginx peeks): the TLS listener gets it whole.
        const peeked = await talk(peek!, "", (t) => t.endsWith("\n"), "a.test");
        assert.equal(peeked.text, `tls a.test ${tlsBack}\n`);
        assert.match(peeked.protocol, /^TLSv1\.[23]$/);
        // TLS ends on the first listener; the decrypted stream goes on to a plain one.
        assert.deepEqual(await talk(front!, "ping\n", echoed, "b.test"), { text: "echo\nping\n", protocol: peeked.protocol });
        // Bytes ssl_preread read off TLS cannot be handed on: the session ends with 500.
        assert.equal((await talk(preread!, "GET / HTTP/1.0\r\n\r\n", () => false, "")).text, "");
        await lb.waitForLog(
          /\[error\] .*\*(\d+) cannot pass connection with preread data while passing connection to port, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
        );
      } finally {
        await lb.stop();
      }
      // Only the sessions that did not pass are logged: each by the server that finished it, at
      // the address passed to ($server_port).
      const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" "));
      assert.deepEqual(lines.map((l) => `${l[0]} ${l[1]}`).sort(), ["200 plain", "200 plain", "200 tls", "500 preread"]);
      for (const [, name, port] of lines) {
        if (name !== "preread") assert.equal(Number(port), name === "tls" ? tlsBack : plainBack);
      }
      // Each connection keeps its number across the listeners it passes through.
      const connected = [...lb.log().matchAll(/\*(\d+) client 127\.0\.0\.1:\d+ connected to 127\.0\.0\.1:(\d+)/g)];
      const passedOnce = connected.filter(([, id]) => connected.filter(([, other]) => other === id).length === 2);
      assert.equal(passedOnce.length, 2 * 3, "three connections were each seen on two listeners");
    });
  }
});
