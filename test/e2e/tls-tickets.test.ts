// Session tickets shared by the workers of one master (issue 15's finding): with
// `worker_processes 2` a ticket either worker issued resumes on the other, as nginx's workers
// share theirs; a reload makes new keys (old tickets no longer resume). Where the runtime's
// TLS cannot take ticket keys (Bun's BoringSSL, Deno's rustls), the master says so in a [warn].
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { alive, startStreamlb, type Streamlb, TARGETS, tempDir } from "../support/streamlb.ts";

const RESUMPTIONS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One handshake (resuming `session` if given), the backend's first line, then close. */
function hello(port: number, session?: Buffer): Promise<{ line: string | null; reused: boolean; session: Buffer | null }> {
  return new Promise((resolve, reject) => {
    let got: Buffer | null = null;
    let reused = false;
    let text = "";
    const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...(session && { session }) }, () => {
      reused = s.isSessionReused();
    });
    s.on("session", (b: Buffer) => (got = b));
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      text += d;
      // A TLS 1.3 ticket follows the first bytes; keep the socket until it has come.
      if (text.includes("\n")) setTimeout(() => s.destroy(), 20);
    });
    s.on("error", () => {});
    s.on("close", () => resolve({ line: text.includes("\n") ? text.slice(0, text.indexOf("\n")) : null, reused, session: got }));
    setTimeout(() => reject(new Error("no answer within 10 s")), 10_000).unref();
  });
}

/** n resumptions of `session`, 4 at a time; how many the client saw resumed. */
async function resume(port: number, session: Buffer, n: number): Promise<number> {
  let reused = 0;
  for (let i = 0; i < n; i += 4) {
    const batch = await Promise.all(Array.from({ length: Math.min(4, n - i) }, () => hello(port, session)));
    reused += batch.filter((h) => h.reused).length;
  }
  return reused;
}

/** Access log rows: `pid reused upstream`. */
function rows(file: string): { pid: number; reused: boolean; upstream: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const [pid, reused, upstream] = l.split(" ");
    return { pid: Number(pid), reused: reused === "r", upstream: upstream! };
  });
}

async function waitFor(what: string, cond: () => boolean, tries = 500): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i >= tries) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

function config(dir: string, port: number, backend: Backend, certs: Certs): string {
  return `worker_processes 2;
pid ${join(dir, "streamlb.pid")};
error_log stderr info;
events {}
stream {
    log_format tickets '$pid $ssl_session_reused $upstream_addr';
    server {
        listen 127.0.0.1:${port} ssl;
        ssl_certificate ${certs.cert("localhost")};
        ssl_certificate_key ${certs.key("localhost")};
        access_log ${join(dir, "access.log")} tickets;
        proxy_pass ${backend.address};
    }
}
`;
}

describe("TLS session tickets across worker processes", () => {
  let certs: Certs;
  let a: Backend;
  let b: Backend;
  before(async () => {
    certs = makeCerts();
    a = await startNamedEcho("a");
    b = await startNamedEcho("b");
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  for (const target of TARGETS) {
    test(target, { timeout: 60_000 }, async () => {
      const [port] = await freePorts(1);
      const dir = tempDir();
      const file = join(dir, "nginx.conf");
      const access = join(dir, "access.log");
      writeFileSync(file, config(dir, port!, a, certs));
      const lb: Streamlb = await startStreamlb(target, file);
      const workers = () => [...lb.log().matchAll(/\] (\d+)#0: streamlb\/\S+ on .* listening on/g)].map((m) => Number(m[1]));
      try {
        await waitFor("two workers listening", () => workers().length >= 2);
        const shares = target === "node";
        const warning = /\[warn\] .*TLS session tickets are not shared between the 2 worker processes on \w+ \(.+\)/;
        // Never silently weaker: where keys cannot be shared, the operator is told why.
        if (shares) assert.doesNotMatch(lb.log(), warning);
        else assert.match(lb.log(), warning);

        // One full handshake, then RESUMPTIONS more with its session: the kernel spreads them
        // over both workers.
        const first = await hello(port!);
        assert.equal(first.line, "a");
        assert.ok(first.session, "the server gave a ticket");
        const reused = await resume(port!, first.session!, RESUMPTIONS);
        await waitFor("every access log row", () => rows(access).length >= RESUMPTIONS + 1);
        const issuer = rows(access)[0]!.pid;
        const resumed = rows(access).slice(1);
        assert.equal(new Set(resumed.map((r) => r.pid)).size, 2, "both workers served resumptions");
        assert.equal(resumed.filter((r) => r.reused).length, reused, "$ssl_session_reused agrees with the client");
        if (!shares) {
          // What the warning says: only the worker that issued the ticket resumes it.
          assert.ok(resumed.every((r) => r.reused === (r.pid === issuer)), "each worker resumes only its own tickets");
          return;
        }
        // Every worker resumes the ticket whichever issued it.
        assert.ok(reused >= RESUMPTIONS * 0.95, `${reused} of ${RESUMPTIONS} resumed`);

        // A reload is a new cycle with new keys: the old ticket resumes on neither worker.
        writeFileSync(file, config(dir, port!, b, certs));
        lb.signal("SIGHUP");
        const mark = rows(access).length;
        const onNew = () => new Set(rows(access).slice(mark).filter((r) => r.upstream === b.address).map((r) => r.pid));
        for (let i = 0; onNew().size < 2; i++) {
          assert.ok(i < 200, "both workers took the new config");
          await hello(port!);
        }
        const stale = await Promise.all([0, 1, 2, 3, 4, 5].map(() => hello(port!, first.session!)));
        assert.ok(stale.every((s) => s.line === "b" && !s.reused), "no ticket of the old keys resumes");
        const next = await hello(port!);
        assert.ok(next.session);
        const again = await resume(port!, next.session!, 20);
        assert.ok(again >= 19, `${again} of 20 resumed with the new keys`);
      } finally {
        const pids = workers();
        await lb.stop();
        for (const p of pids) if (alive(p)) process.kill(p, "SIGKILL");
      }
    });
  }
});
