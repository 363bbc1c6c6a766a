// Issue 15's certificates per handshake and ticket key files, on real sockets (loopback):
// one `ssl_certificate $ssl_server_name.crt` line serves two names their own certificates,
// a map on $remote_addr chooses by the client's 127.0.0.x source (no SNI needed), a name
// without files fails that handshake only, with nginx's log line, and a file replaced on disk
// serves the next handshake. ssl_session_ticket_key: a ticket from one balancer process
// resumes on the next one started with the same key file, a second key still decrypts it
// (rotation) and once dropped it no longer does (Node); elsewhere it is an [emerg] naming
// the runtime, never tickets silently made with other keys.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { before, describe, test } from "node:test";
import { freePorts } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { runStreamlb, startStreamlb, TARGETS, tempDir } from "../support/streamlb.ts";

interface Answer {
  readonly text: string;
  readonly cn: string;
  readonly reused: boolean;
  readonly session: Buffer | null;
  /** The handshake's error, "" when it finished. */
  readonly error: string;
}

/** One TLS connection: handshake (resuming `session`), read until the server closes. */
function ask(port: number, o: { servername?: string; localAddress?: string; session?: Buffer | null } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let text = "", cn = "", error = "", reused = false;
    let session: Buffer | null = null;
    const s = tls.connect({
      host: "127.0.0.1",
      port,
      rejectUnauthorized: false,
      ...(o.servername !== undefined && { servername: o.servername }),
      ...(o.localAddress !== undefined && { localAddress: o.localAddress }),
      ...(o.session && { session: o.session }),
    }, () => {
      cn = String(s.getPeerCertificate().subject?.CN ?? "");
      reused = s.isSessionReused();
    });
    s.setEncoding("utf8");
    s.on("session", (b: Buffer) => (session = b));
    s.on("data", (d: string) => (text += d));
    s.on("end", () => s.end());
    s.on("error", (e: Error) => (error ||= e.message));
    s.on("close", () => resolve({ text, cn, reused, session, error }));
    setTimeout(() => reject(new Error(`no close within 10 s (got ${JSON.stringify(text)})`)), 10_000).unref();
  });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

let certs: Certs;
before(() => {
  certs = makeCerts();
});

/** A prefix directory with NAME.crt / NAME.key pairs copied from the test certificates. */
function prefixWith(pairs: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, from] of Object.entries(pairs)) {
    copyFileSync(certs.cert(from), join(dir, `${name}.crt`));
    copyFileSync(certs.key(from), join(dir, `${name}.key`));
  }
  return dir;
}

for (const target of TARGETS) {
  describe(`ssl_certificate with variables on ${target}`, () => {
    test("per name, per client address, a missing file fails one handshake, a replaced one serves the next", async () => {
      const dir = prefixWith({ "localhost": "localhost", "second.test": "second", "far": "second", "near": "localhost" });
      const [byName, byAddress, inline] = await freePorts(3);
      const conf = join(dir, "nginx.conf");
      writeFileSync(
        conf,
        `error_log stderr info;
events {}
stream {
  map $remote_addr $side { 127.0.0.2 far; default near; }
  server {
    listen 127.0.0.1:${byName} ssl;
    ssl_certificate $ssl_server_name.crt;
    ssl_certificate_key $ssl_server_name.key;
    return "$ssl_server_name $ssl_session_reused\\n";
  }
  server {
    listen 127.0.0.1:${byAddress} ssl;
    ssl_certificate $side.crt;
    ssl_certificate_key $side.key;
    return "$remote_addr $side\\n";
  }
  server {
    listen 127.0.0.1:${inline} ssl;
    ssl_certificate "data:${certs.pem("second")}";
    ssl_certificate_key "data:${readFileSync(certs.key("second"), "utf8")}";
    return "inline\\n";
  }
}
`,
      );
      // Relative paths: the files are found under the prefix, as nginx finds them.
      const lb = await startStreamlb(target, conf, ["-p", dir]);
      try {
        // One line, two names, two certificates; and a ticket resumes with the same name.
        const one = await ask(byName!, { servername: "localhost" });
        assert.deepEqual([one.cn, one.text, one.error], ["localhost", "localhost .\n", ""]);
        const two = await ask(byName!, { servername: "second.test" });
        assert.deepEqual([two.cn, two.text], ["second.test", "second.test .\n"]);
        assert.ok(one.session, "a ticket came");
        const again = await ask(byName!, { servername: "localhost", session: one.session });
        assert.deepEqual([again.text, again.reused], ["localhost r\n", true]);

        // The map on $remote_addr: no SNI at all, the source address alone decides.
        const near = await ask(byAddress!, { localAddress: "127.0.0.1" });
        assert.deepEqual([near.cn, near.text], ["localhost", "127.0.0.1 near\n"]);
        const far = await ask(byAddress!, { localAddress: "127.0.0.2" });
        assert.deepEqual([far.cn, far.text], ["second.test", "127.0.0.2 far\n"]);

        // No such files: that handshake fails, with nginx's lines; the next one is served.
        const nx = await ask(byName!, { servername: "nx.test" });
        assert.equal(nx.text, "");
        assert.notEqual(nx.error, "", "the client saw the handshake fail");
        const tail = `while SSL handshaking, client: 127\\.0\\.0\\.1, server: 127\\.0\\.0\\.1:${byName}`;
        await lb.waitForLog(
          new RegExp(
            `\\[error\\] \\d+#0: \\*\\d+ cannot load certificate "${
              esc(join(dir, "nx.test.crt"))
            }": BIO_new_file\\(\\) failed \\(2: No such file or directory\\) ${tail}`,
          ),
        );
        await lb.waitForLog(
          new RegExp(
            `\\[info\\] \\d+#0: \\*\\d+ SSL_do_handshake\\(\\) failed \\(SSL: error:0A000179:SSL routines::cert cb error\\) ${tail}`,
          ),
        );
        const after = await ask(byName!, { servername: "second.test" });
        assert.deepEqual([after.cn, after.error], ["second.test", ""]);

        // Files are read per handshake, as nginx does without ssl_certificate_cache.
        copyFileSync(certs.cert("localhost"), join(dir, "second.test.crt"));
        copyFileSync(certs.key("localhost"), join(dir, "second.test.key"));
        assert.equal((await ask(byName!, { servername: "second.test" })).cn, "localhost");

        // data: is the PEM itself.
        const pem = await ask(inline!, { servername: "localhost" });
        assert.deepEqual([pem.cn, pem.text], ["second.test", "inline\n"]);
        assert.doesNotMatch(lb.log(), /\[(alert|crit|emerg)\]/);
      } finally {
        await lb.stop();
      }
    });
  });

  describe(`ssl_session_ticket_key on ${target}`, () => {
    test(
      target === "node"
        ? "a ticket resumes on the next process with the same key file, rotation as nginx's"
        : "is refused naming the runtime",
      {
        timeout: 60_000,
      },
      async () => {
        const dir = tempDir();
        const [port] = await freePorts(1);
        writeFileSync(join(dir, "old.key"), randomBytes(48));
        writeFileSync(join(dir, "new.key"), randomBytes(48));
        writeFileSync(join(dir, "long.key"), randomBytes(80));
        const conf = (...keys: string[]) => {
          const file = join(dir, `nginx-${keys.join("-")}.conf`);
          writeFileSync(
            file,
            `error_log stderr info;
events {}
stream {
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certs.cert("localhost")};
    ssl_certificate_key ${certs.key("localhost")};
${keys.map((k) => `    ssl_session_ticket_key ${join(dir, k)};`).join("\n")}
    return "$ssl_session_reused\\n";
  }
}
`,
          );
          return file;
        };
        if (target !== "node") {
          const r = await runStreamlb(target, ["-t", "-c", conf("old.key")]);
          assert.equal(r.code, 1);
          const lib = target === "deno" ? "rustls" : "BoringSSL";
          const runtime = target === "binary" ? "bun" : target;
          assert.match(
            r.stderr,
            new RegExp(`\\[emerg\\] "ssl_session_ticket_key" cannot be honoured on ${runtime} \\(${lib}\\)`),
          );
          return;
        }
        // nginx's 80-byte keys are AES-256 tickets; Node's ticket callback has AES-128 only.
        const long = await runStreamlb(target, ["-t", "-c", conf("long.key")]);
        assert.equal(long.code, 1);
        assert.match(
          long.stderr,
          /\[emerg\] "ssl_session_ticket_key" with an 80-byte key \(AES-256 tickets\) cannot be honoured on node/,
        );

        const run = async (keys: string[], session: Buffer | null) => {
          const lb = await startStreamlb(target, conf(...keys));
          try {
            return await ask(port!, { session });
          } finally {
            await lb.stop();
          }
        };
        const first = await run(["old.key"], null);
        assert.deepEqual([first.text, first.error], [".\n", ""]);
        assert.ok(first.session, "a ticket came");
        // Another process, the same file: the ticket resumes.
        const restarted = await run(["old.key"], first.session);
        assert.deepEqual([restarted.text, restarted.reused], ["r\n", true]);
        // Rotation: a new first key encrypts, the old one still decrypts.
        const rotated = await run(["new.key", "old.key"], first.session);
        assert.deepEqual([rotated.text, rotated.reused], ["r\n", true]);
        // The old key gone: its tickets no longer resume; a key the process made itself never would.
        const dropped = await run(["new.key"], first.session);
        assert.deepEqual([dropped.text, dropped.reused], [".\n", false]);
        const unkeyed = await run([], first.session);
        assert.deepEqual([unkeyed.text, unkeyed.reused], [".\n", false]);
      },
    );
  });
}
