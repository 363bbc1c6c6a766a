// TLS (issue 15) over real sockets on every target, with certificates `openssl` makes now:
// termination read by `openssl s_client`, client certificates accepted and refused,
// origination with and without verification, resumption, a certificate reload under a live
// session, and bad input (garbage, a stalled handshake) that ends only its own connection.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { runStreamlb, startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TlsHello {
  /** The backend's greeting, or null when the connection closed first. */
  readonly line: string | null;
  readonly peerCn: string;
  readonly reused: boolean;
  readonly session: Buffer | null;
}

/** A TLS client: handshake, first line, then close (with the session it got, for resumption). */
function tlsHello(port: number, o: tls.ConnectionOptions = {}): Promise<TlsHello> {
  return new Promise((resolve, reject) => {
    let session: Buffer | null = null;
    let peerCn = "";
    let reused = false;
    let text = "";
    const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...o }, () => {
      peerCn = String(s.getPeerCertificate().subject?.CN ?? "");
      reused = s.isSessionReused();
    });
    s.on("session", (b: Buffer) => (session = b));
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      text += d;
      if (text.includes("\n")) {
        // Give a TLS 1.3 ticket that follows the first bytes a moment to arrive.
        setTimeout(() => {
          s.destroy();
          resolve({ line: text.slice(0, text.indexOf("\n")), peerCn, reused, session });
        }, 20);
      }
    });
    s.on("error", () => {});
    s.on("close", () => resolve({ line: null, peerCn, reused, session }));
    setTimeout(() => reject(new Error("no answer within 10 s")), 10_000).unref();
  });
}

/** A TLS backend: greets with `name\n`, then echoes. */
function tlsBackend(name: string, certs: Certs, cert: string): Promise<Backend> {
  const server = tls.createServer({ cert: certs.pem(cert), key: readFileSync(certs.key(cert), "utf8") }, (s) => {
    backend.accepted++;
    s.on("error", () => s.destroy());
    s.write(`${name}\n`);
    s.pipe(s);
  });
  const backend = {
    name,
    port: 0,
    address: "",
    accepted: 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  } as Backend;
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      Object.assign(backend, { port, address: `127.0.0.1:${port}` });
      resolve(backend);
    });
  });
}

/** Raw bytes to a TLS port; resolves when the server closes the connection. */
function sendRaw(port: number, bytes: string | null): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const s = net.connect(port, "127.0.0.1", () => {
      if (bytes !== null) s.write(bytes);
    });
    s.setEncoding("latin1");
    s.on("data", (d: string) => (got += d));
    s.on("error", () => {});
    s.on("close", () => resolve(got));
  });
}

/** `openssl s_client` against a port: sends a line, resolves with what came back. */
function sClient(port: number, caFile: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-servername",
      "localhost",
      "-CAfile",
      caFile,
      "-verify_return_error",
      "-verify_hostname",
      "localhost",
      "-quiet",
    ], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`s_client got no answer: ${out}`));
    }, 10_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      if (out.includes(line)) {
        clearTimeout(timer);
        child.kill("SIGTERM");
        resolve(out);
      }
    });
    child.stdin.write(`${line}\n`);
  });
}

for (const target of TARGETS) {
  describe(`TLS on ${target}`, () => {
    let certs: Certs;
    let plain: Backend;
    const tlsBackends: Record<string, Backend> = {};
    before(async () => {
      certs = makeCerts();
      plain = await startNamedEcho("plain");
      for (const c of ["localhost", "selfsigned", "expired"]) tlsBackends[c] = await tlsBackend(`tls-${c}`, certs, c);
    });
    after(async () => {
      await plain.close();
      await Promise.all(Object.values(tlsBackends).map((b) => b.close()));
    });

    test("terminates for openssl s_client, checks client certificates, and refuses bad handshakes", async () => {
      const [p1, p2, p3, p4] = await freePorts(4);
      const conf = writeConfig(
        `
error_log stderr info;
events {}
stream {
  ssl_certificate ${certs.cert("localhost")};
  ssl_certificate_key ${certs.key("localhost")};
  server { listen 127.0.0.1:${p1} ssl; proxy_pass ${plain.address}; }
  server {
    listen 127.0.0.1:${p2} ssl;
    ssl_verify_client on;
    ssl_client_certificate ${certs.cert("ca")};
    proxy_pass ${plain.address};
  }
  server { listen 127.0.0.1:${p3} ssl; ssl_handshake_timeout 300ms; proxy_pass ${plain.address}; }
  server {
    listen 127.0.0.1:${p4} ssl;
    ssl_verify_client optional;
    ssl_client_certificate ${certs.cert("ca")};
    proxy_pass ${plain.address};
  }
}
`,
        "nginx.conf",
      );
      const lb = await startStreamlb(target, conf);
      try {
        // s_client verifies the chain and the name against the test CA, then talks through.
        const out = await sClient(p1!, certs.cert("ca"), "ping over tls");
        assert.match(out, /^plain\nping over tls\n/);

        // mTLS: the CA's client passes; a self-signed one and none at all are refused.
        const auth = { cert: certs.pem("client"), key: readFileSync(certs.key("client"), "utf8") };
        assert.equal((await tlsHello(p2!, auth)).line, "plain");
        const rogue = { cert: certs.pem("rogue"), key: readFileSync(certs.key("rogue"), "utf8") };
        assert.equal((await tlsHello(p2!, rogue)).line, null);
        await lb.waitForLog(
          /\[info\] .*\*\d+ client SSL certificate verify error: \(18:self-signed certificate\) while SSL handshaking, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
        );
        assert.equal((await tlsHello(p2!)).line, null);
        await lb.waitForLog(/client sent no required SSL certificate while SSL handshaking/);
        // optional: no certificate passes; a bad one still does not.
        assert.equal((await tlsHello(p4!)).line, "plain");
        assert.equal((await tlsHello(p4!, rogue)).line, null);

        // Garbage instead of a ClientHello ends that connection only, with nginx's line.
        const accepted = plain.accepted;
        // (At most a TLS alert comes back: OpenSSL sends none here, BoringSSL and rustls do.)
        assert.doesNotMatch(await sendRaw(p1!, "GET / HTTP/1.0\r\n\r\n"), /plain/);
        await lb.waitForLog(
          /\[info\] .*SSL_do_handshake\(\) failed \(SSL: .*\) while SSL handshaking, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
        );
        assert.equal(plain.accepted, accepted, "a failed handshake reaches no backend");
        // A client that sends nothing is closed by ssl_handshake_timeout.
        assert.doesNotMatch(await sendRaw(p3!, null), /plain/);
        await lb.waitForLog(/client timed out \(110: Connection timed out\) while SSL handshaking/);
        assert.equal((await tlsHello(p1!)).line, "plain", "the listener still serves after bad input");

        // A client that closes right after its handshake ends its session: its FIN may come
        // before the relay starts (while the upstream connects), and must not be lost.
        const connected = () => [...lb.log().matchAll(/\*(\d+) proxy \S+ connected to/g)].map((m) => Number(m[1]));
        const seen = new Set(connected());
        // s_client with no input sends its Finished, close_notify and FIN back to back.
        const quick = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${p1}`], { stdio: ["ignore", "ignore", "ignore"] });
        await new Promise((r) => quick.once("exit", r));
        for (let i = 0; i < 500 && connected().every((n) => seen.has(n)); i++) await sleep(10);
        const id = connected().find((n) => !seen.has(n));
        assert.ok(id, "the quick client's session reached its upstream");
        await lb.waitForLog(new RegExp(`\\*${id} client disconnected`));
      } finally {
        await lb.stop();
      }
    });

    test("originates with and without verification, and resumes sessions", async () => {
      const ports = await freePorts(6);
      const [off, ok, self, expired, mismatch, terminated] = ports as [number, number, number, number, number, number];
      const verify = `proxy_ssl_verify on; proxy_ssl_trusted_certificate ${certs.cert("ca")};`;
      const conf = writeConfig(
        `
error_log stderr info;
events {}
stream {
  proxy_ssl on;
  server { listen 127.0.0.1:${off}; proxy_pass ${tlsBackends["selfsigned"]!.address}; }
  server { listen 127.0.0.1:${ok}; ${verify} proxy_ssl_name localhost; proxy_ssl_server_name on; proxy_pass ${
          tlsBackends["localhost"]!.address
        }; }
  server { listen 127.0.0.1:${self}; ${verify} proxy_ssl_name localhost; proxy_pass ${tlsBackends["selfsigned"]!.address}; }
  server { listen 127.0.0.1:${expired}; ${verify} proxy_ssl_name localhost; proxy_pass ${tlsBackends["expired"]!.address}; }
  server { listen 127.0.0.1:${mismatch}; ${verify} proxy_ssl_name other.test; proxy_pass ${tlsBackends["localhost"]!.address}; }
  server {
    listen 127.0.0.1:${terminated} ssl;
    ssl_certificate ${certs.cert("localhost")};
    ssl_certificate_key ${certs.key("localhost")};
    proxy_ssl off;
    proxy_pass ${plain.address};
  }
}
`,
        "nginx.conf",
      );
      const lb = await startStreamlb(target, conf);
      try {
        assert.equal(await firstLine(off), "tls-selfsigned", "proxy_ssl_verify off takes any certificate");
        assert.equal(await firstLine(ok), "tls-localhost", "a certificate the CA signed for the name passes");
        for (const port of [self, expired, mismatch]) {
          await assert.rejects(firstLine(port), /closed before a line arrived/);
        }
        await lb.waitForLog(
          /upstream SSL certificate verify error: \(18:self-signed certificate\) while SSL handshaking to upstream/,
        );
        // rustls (Deno) reports an expired certificate only as one it could not verify.
        const expiredReason = target === "deno" ? "21:unable to verify the first certificate" : "10:certificate has expired";
        await lb.waitForLog(
          new RegExp(`upstream SSL certificate verify error: \\(${expiredReason}\\) while SSL handshaking to upstream`),
        );
        await lb.waitForLog(/upstream SSL certificate does not match "other\.test" while SSL handshaking to upstream/);

        // Resumption: the second handshake with the first one's session is a resumed one.
        const first = await tlsHello(terminated);
        assert.equal(first.line, "plain");
        assert.equal(first.reused, false);
        assert.ok(first.session, "the server gave a session to resume");
        const second = await tlsHello(terminated, { session: first.session! });
        assert.equal(second.line, "plain");
        assert.equal(second.reused, true);
      } finally {
        await lb.stop();
      }
    });

    test("a reload serves new certificates to new handshakes, keeps live sessions, and refuses a bad key", async () => {
      const [port] = await freePorts(1);
      const dir = writeConfig("", "unused");
      const cert = `${dir}.pem`;
      const key = `${dir}.key`;
      copyFileSync(certs.cert("localhost"), cert);
      copyFileSync(certs.key("localhost"), key);
      const conf = writeConfig(
        `
error_log stderr notice;
events {}
stream {
  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; proxy_pass ${plain.address}; }
}
`,
        "nginx.conf",
      );
      const lb = await startStreamlb(target, conf);
      try {
        // A live session across the reload.
        const live = tls.connect({ host: "127.0.0.1", port: port!, rejectUnauthorized: false });
        live.setEncoding("utf8");
        let echoed = "";
        live.on("data", (d: string) => (echoed += d));
        await new Promise((r) => live.once("secureConnect", r));
        assert.equal((await tlsHello(port!)).peerCn, "localhost");

        copyFileSync(certs.cert("second"), cert);
        copyFileSync(certs.key("second"), key);
        await reload(lb, /reconfigured/);
        assert.equal((await tlsHello(port!)).peerCn, "second.test", "new handshakes get the new certificate");
        live.write("still here\n");
        for (let i = 0; i < 200 && !echoed.includes("still here"); i++) await sleep(10);
        assert.equal(echoed, "plain\nstill here\n", "the session open before the reload goes on");
        live.destroy();

        writeFileSync(key, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
        await reload(
          lb,
          /\[emerg\] .*cannot load certificate key ".*\.key": PEM_read_bio_PrivateKey\(\) failed .*reload failed, the running configuration is kept/,
        );
        assert.equal((await tlsHello(port!)).peerCn, "second.test", "the running certificate stays after a bad key");
        assert.doesNotMatch(lb.log(), /BEGIN PRIVATE KEY|broken/, "no key bytes in the log");
      } finally {
        await lb.stop();
      }
    });

    test("-V names the TLS library, and -t loads certificates", async () => {
      const v = await runStreamlb(target, ["-V"]);
      const library = target === "node"
        ? /^built with OpenSSL \d+\.\d+\.\d+$/m
        : target === "deno"
        ? /^built with rustls$/m
        : /^built with BoringSSL$/m;
      assert.match(v.stderr, library);
      assert.match(v.stderr, /^TLS SNI support enabled$/m);
      assert.match(v.stderr, /--with-stream_ssl_module/);
      const conf = writeConfig(
        `events {}\nstream { server { listen 127.0.0.1:1 ssl; ssl_certificate ${
          certs.cert("localhost")
        }; ssl_certificate_key ${certs.dir}/missing.key; proxy_pass 127.0.0.1:2; } }\n`,
        "nginx.conf",
      );
      const t = await runStreamlb(target, ["-t", "-c", conf]);
      assert.equal(t.code, 1);
      assert.match(
        t.stderr,
        /\[emerg\] cannot load certificate key ".*missing\.key": BIO_new_file\(\) failed \(2: No such file or directory\)/,
      );
    });
  });
}

async function reload(lb: Streamlb, done: RegExp): Promise<void> {
  const count = (lb.log().match(new RegExp(done.source, "g")) ?? []).length;
  lb.signal("SIGHUP");
  for (let i = 0; i < 500 && (lb.log().match(new RegExp(done.source, "g")) ?? []).length === count; i++) await sleep(10);
  assert.match(lb.log(), done);
}
