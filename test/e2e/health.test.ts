// Active health checks (issue 4) on every target, each behaviour under the three spellings
// that make the same HealthCheckConfig: YAML, NGINX Plus (health_check/match) and
// yaoweibin's tcp{} check. Intervals are short and every wait is bounded.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { after, describe, test } from "node:test";
import { freePorts } from "../support/backends.ts";
import { startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Reply = "ok" | "bad" | "silent";

/**
 * A backend that answers `GET /health` as its `reply` says (200, 500, or never) and greets a
 * client that sends `who\n` with its name, then echoes. Its listener can close and reopen on
 * the same port while its live connections stay.
 */
class Backend {
  reply: Reply = "ok";
  /** Client sessions served (health checks not counted). */
  served = 0;
  port = 0;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly name: string) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(name: string): Promise<Backend> {
    const b = new Backend(name);
    await b.listen();
    return b;
  }

  listen(): Promise<void> {
    const server = net.createServer((s) => this.handle(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  /** Closes the listener only: connections already open go on. */
  stopListening(): Promise<void> {
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await this.stopListening();
  }

  private handle(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let echo = false;
    socket.on("data", (d: Buffer) => {
      if (echo) return void socket.write(d);
      const text = d.toString("latin1");
      if (text.startsWith("GET /health")) {
        if (this.reply === "ok") socket.end("HTTP/1.0 200 OK\r\n\r\n");
        if (this.reply === "bad") socket.end("HTTP/1.0 500 Oops\r\n\r\n");
        return;
      }
      if (text.startsWith("who\n")) {
        echo = true;
        this.served++;
        socket.write(`${this.name}\n`);
        if (text.length > 4) socket.write(text.slice(4));
      }
    });
  }
}

/** A client session: asks who it reached, and can check its session still echoes. */
class Client {
  readonly socket: net.Socket;
  closed = false;
  private data = "";
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setEncoding("latin1");
    this.socket.on("data", (d: string) => {
      this.data += d;
      for (const w of this.waiters) w();
    });
    this.socket.on("error", () => undefined);
    this.socket.on("close", () => {
      this.closed = true;
      for (const w of this.waiters) w();
    });
    this.socket.write("who\n");
  }

  /** The next line, or null if the session closed first. */
  async line(timeoutMs = 3000): Promise<string | null> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.data.indexOf("\n");
      if (nl >= 0) {
        const line = this.data.slice(0, nl);
        this.data = this.data.slice(nl + 1);
        return line;
      }
      if (this.closed) return null;
      if (Date.now() > until) throw new Error(`no line within ${timeoutMs} ms (got "${this.data}")`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
      this.waiters = [];
    }
  }

  async echoes(text: string): Promise<boolean> {
    this.socket.write(`${text}\n`);
    return (await this.line()) === text;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Which backend one new session reaches (null when the balancer closed it: no live upstream). */
async function who(port: number): Promise<string | null> {
  const c = new Client(port);
  try {
    return await c.line();
  } finally {
    c.close();
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - started;
}

type Spelling = "yaml" | "plus" | "yaoweibin";
const SPELLINGS: readonly Spelling[] = ["yaml", "plus", "yaoweibin"];

interface Check {
  readonly intervalMs: number;
  readonly fails: number;
  readonly passes: number;
  readonly timeoutMs: number;
  /** Send `GET /health` and expect a 2xx/3xx status line; else a TCP connect check. */
  readonly http: boolean;
}

const HTTP_SEND = "GET /health HTTP/1.0\\r\\n\\r\\n";
const HTTP_ALIVE = "^HTTP/[0-9.]+ [23][0-9][0-9]";

/**
 * One upstream `u` with this check, behind 127.0.0.1:port, in the given spelling. Every
 * spelling is `mandatory persistent`, which is what yaoweibin's check means (see read-nginx/health.ts).
 */
function config(spelling: Spelling, port: number, servers: readonly string[], c: Check, sessionDrop = false): string {
  switch (spelling) {
    case "yaml": {
      const http = c.http ? `, send: "${HTTP_SEND}", expect: { regex: "${HTTP_ALIVE}" }` : "";
      return `error_log: { path: stderr, level: notice }
stream:
  proxy_session_drop: ${sessionDrop}
  upstreams:
    u:
      servers: [${servers.map((s) => `"${s}"`).join(", ")}]
      health_check: { interval: ${c.intervalMs}ms, timeout: ${c.timeoutMs}ms, fails: ${c.fails}, passes: ${c.passes}, mandatory: true, persistent: true${http} }
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: u }
`;
    }
    case "plus":
      return `error_log stderr notice;
events {}
stream {
    upstream u {
${servers.map((s) => `        server ${s};`).join("\n")}
    }
    match http_ok {
        send "${HTTP_SEND}";
        expect ~ "${HTTP_ALIVE}";
    }
    server {
        listen 127.0.0.1:${port};
        proxy_pass u;
        health_check interval=${c.intervalMs}ms fails=${c.fails} passes=${c.passes}${
        c.http ? " match=http_ok" : ""
      } mandatory persistent;
        health_check_timeout ${c.timeoutMs}ms;
        proxy_session_drop ${sessionDrop ? "on" : "off"};
    }
}
`;
    case "yaoweibin":
      assert.equal(sessionDrop, false, "tcp{} has no proxy_session_drop");
      return `error_log stderr notice;
events {}
tcp {
    upstream u {
${servers.map((s) => `        server ${s};`).join("\n")}
        check interval=${c.intervalMs} rise=${c.passes} fall=${c.fails} timeout=${c.timeoutMs} type=${c.http ? "http" : "tcp"};
        check_http_send "${HTTP_SEND}";
        check_http_expect_alive http_2xx http_3xx;
    }
    server {
        listen 127.0.0.1:${port};
        proxy_pass u;
    }
}
`;
  }
}

const fileName = (s: Spelling) => (s === "yaml" ? "streamlb.yaml" : "nginx.conf");
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const upLine = (b: Backend) => new RegExp(`server ${esc(b.address)} of upstream u is up`);
const downLine = (b: Backend, why = "") => new RegExp(`server ${esc(b.address)} of upstream u is down: ${why}`);
/** A session tried this server (a passive failure), which a server out of rotation never sees. */
const triedLine = (b: Backend) => new RegExp(`connect\\(\\) failed .*upstream: "${esc(b.address)}"`);

for (const target of TARGETS) {
  describe(`active health checks on ${target}`, () => {
    const running: Array<Streamlb | Backend> = [];
    after(async () => {
      for (const r of running) await (r instanceof Backend ? r.close() : r.stop());
    });
    const backends = async (...names: string[]) => {
      const bs = await Promise.all(names.map((n) => Backend.start(n)));
      running.push(...bs);
      return bs;
    };
    const start = async (spelling: Spelling, text: string) => {
      const file = writeConfig(text, fileName(spelling));
      const lb = await startStreamlb(target, file);
      running.push(lb);
      return { lb, file };
    };

    for (const spelling of SPELLINGS) {
      test(`${spelling}: a closed listener is marked down within interval × fails; traffic returns after passes`, async () => {
        const [a, b] = (await backends("a", "b")) as [Backend, Backend];
        const [port] = (await freePorts(1)) as [number];
        const check: Check = { intervalMs: 200, fails: 2, passes: 2, timeoutMs: 1000, http: false };
        const { lb } = await start(spelling, config(spelling, port, [a.address, b.address], check));
        try {
          await until("both servers up", () => upLine(a).test(lb.log()) && upLine(b).test(lb.log()));
          const first = new Set([await who(port), await who(port)]);
          assert.deepEqual(first, new Set(["a", "b"]));

          await b.stopListening();
          const downMs = await until("b marked down", () => downLine(b).test(lb.log()));
          assert.ok(downMs <= check.intervalMs * check.fails + 400, `marked down after ${downMs} ms`);
          assert.match(lb.log(), downLine(b, "connect\\(\\) failed \\(111: Connection refused\\)"));
          const mark = lb.log().length;
          for (let i = 0; i < 8; i++) assert.equal(await who(port), "a");

          await b.listen(); // same port
          const served = b.served;
          await who(port); // still down until passes checks pass
          const upMs = await until("b marked up", () => upLine(b).test(lb.log().slice(mark)));
          assert.ok(upMs >= check.intervalMs * (check.passes - 1) - 50, `up after ${upMs} ms: ${check.passes} passes`);
          assert.doesNotMatch(lb.log().slice(mark), triedLine(b), "no session went to b while it was down");
          assert.ok(b.served === served, "no session reached b before it was up");
          const picks = [];
          for (let i = 0; i < 4; i++) picks.push(await who(port));
          assert.ok(picks.includes("b"), `traffic returns to b: ${picks.join(" ")}`);
        } finally {
          await lb.stop();
        }
      });

      test(`${spelling}: mandatory: a server added by reload gets no traffic before its first pass`, async () => {
        const [a, b] = (await backends("a", "b")) as [Backend, Backend];
        await b.stopListening();
        const [port] = (await freePorts(1)) as [number];
        const check: Check = { intervalMs: 200, fails: 2, passes: 1, timeoutMs: 1000, http: false };
        const { lb, file } = await start(spelling, config(spelling, port, [a.address], check));
        try {
          await until("a up", () => upLine(a).test(lb.log()));
          writeFileSync(file, config(spelling, port, [a.address, b.address], check));
          lb.signal("SIGHUP");
          await until("the reload", () => /reconfigured/.test(lb.log()));
          const mark = lb.log().length;
          // persistent: a stays up across the reload; mandatory: b is out until it passes
          for (let i = 0; i < 8; i++) assert.equal(await who(port), "a");
          await b.listen();
          await until("b up", () => upLine(b).test(lb.log().slice(mark)));
          assert.doesNotMatch(lb.log().slice(mark), triedLine(b), "no session tried b before its first pass");
          assert.doesNotMatch(lb.log(), /no live upstreams/);
          const picks = [];
          for (let i = 0; i < 4; i++) picks.push(await who(port));
          assert.ok(picks.includes("b"), `b takes sessions once up: ${picks.join(" ")}`);
        } finally {
          await lb.stop();
        }
      });

      test(`${spelling}: send/expect: a server that answers the wrong bytes fails its check`, async () => {
        const [a, b] = (await backends("a", "b")) as [Backend, Backend];
        b.reply = "bad";
        const [port] = (await freePorts(1)) as [number];
        const check: Check = { intervalMs: 200, fails: 1, passes: 1, timeoutMs: 1000, http: true };
        const { lb } = await start(spelling, config(spelling, port, [a.address, b.address], check));
        try {
          await until("a up, b down", () => upLine(a).test(lb.log()) && downLine(b).test(lb.log()));
          assert.match(lb.log(), downLine(b, `the reply did not match ~ "\\^HTTP/.*": got "HTTP/1.0 500 Oops`));
          for (let i = 0; i < 6; i++) assert.equal(await who(port), "a");
          assert.equal(b.served, 0);
          b.reply = "ok";
          await until("b up", () => upLine(b).test(lb.log()));
          const picks = [];
          for (let i = 0; i < 4; i++) picks.push(await who(port));
          assert.ok(picks.includes("b"), picks.join(" "));
        } finally {
          await lb.stop();
        }
      });

      test(`${spelling}: a server that accepts and never answers fails by timeout`, async () => {
        const [a, b] = (await backends("a", "b")) as [Backend, Backend];
        b.reply = "silent";
        const [port] = (await freePorts(1)) as [number];
        const check: Check = { intervalMs: 200, fails: 1, passes: 1, timeoutMs: 300, http: true };
        const started = Date.now();
        const { lb } = await start(spelling, config(spelling, port, [a.address, b.address], check));
        try {
          await until("b down", () => downLine(b).test(lb.log()));
          assert.ok(Date.now() - started >= check.timeoutMs, "not before the timeout");
          assert.match(lb.log(), downLine(b, "timed out \\(110: Connection timed out\\) waiting for a reply"));
          for (let i = 0; i < 6; i++) assert.equal(await who(port), "a");
          assert.equal(b.served, 0);
        } finally {
          await lb.stop();
        }
      });
    }

    for (const spelling of ["yaml", "plus"] as const) {
      for (const drop of [true, false]) {
        test(`${spelling}: proxy_session_drop ${drop ? "on closes" : "off keeps"} the live sessions of a server marked down`, async () => {
          const [a, b] = (await backends("a", "b")) as [Backend, Backend];
          const [port] = (await freePorts(1)) as [number];
          const check: Check = { intervalMs: 200, fails: 1, passes: 1, timeoutMs: 1000, http: true };
          const { lb } = await start(spelling, config(spelling, port, [a.address, b.address], check, drop));
          const clients: Client[] = [];
          try {
            await until("both up", () => upLine(a).test(lb.log()) && upLine(b).test(lb.log()));
            const byName = new Map<string, Client>();
            for (let i = 0; i < 4 && byName.size < 2; i++) {
              const c = new Client(port);
              clients.push(c);
              byName.set((await c.line())!, c);
            }
            const [onA, onB] = [byName.get("a")!, byName.get("b")!];
            assert.ok(onA && onB, "a session on each server");
            b.reply = "bad"; // its listener and live sessions stay: only the check fails
            await until("b down", () => downLine(b).test(lb.log()));
            if (drop) {
              await until("b's session closed", () => onB.closed, 2000);
              // The line is written as the session is closed: the client can see the close first.
              const dropped = new RegExp(
                `closed 1 session\\(s\\) to server ${esc(b.address)} of upstream u \\(proxy_session_drop\\)`,
              );
              await until("the drop logged", () => dropped.test(lb.log()), 2000);
            } else {
              await sleep(300);
              assert.equal(await onB.echoes("still here"), true, "b's session goes on");
            }
            assert.equal(await onA.echoes("a is fine"), true, "sessions on a healthy server are untouched");
          } finally {
            for (const c of clients) c.close();
            await lb.stop();
          }
        });
      }
    }
  });
}
