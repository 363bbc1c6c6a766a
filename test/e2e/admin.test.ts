// The admin endpoint against streamlb on every target: the token, /metrics read by a real
// Prometheus text-format parser and checked against the traffic sent, and runtime changes
// without a reload (drain keeps live sessions, an added server gets traffic) that survive a
// reload because the upstream has a `state` file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import { startStreamlb, type Streamlb, TARGETS, tempDir } from "../support/streamlb.ts";
import { writeFileSync } from "node:fs";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOKEN = "e2e-t0ken";

/** A session that stays open: it knows its backend and can check the echo still works. */
class Held {
  readonly socket: net.Socket;
  backend = "";
  private buffer = "";
  private waiter: (() => void) | null = null;

  private constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setEncoding("utf8");
    this.socket.on("data", (d: string) => {
      this.buffer += d;
      this.waiter?.();
    });
    this.socket.on("error", () => undefined);
  }

  static async open(port: number): Promise<Held> {
    const h = new Held(port);
    await h.until(() => h.buffer.includes("\n"));
    h.backend = h.buffer.slice(0, h.buffer.indexOf("\n"));
    h.buffer = "";
    return h;
  }

  async echo(text: string): Promise<string> {
    this.socket.write(text);
    await this.until(() => this.buffer.length >= text.length);
    const got = this.buffer;
    this.buffer = "";
    return got;
  }

  private until(done: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got "${this.buffer}"`)), timeoutMs);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        }
      };
      this.waiter = check;
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end();
    });
  }
}

/** One whole session: greeting, `payload` echoed, closed. Returns the backend's name. */
async function session(port: number, payload: string): Promise<string> {
  const h = await Held.open(port);
  assert.equal(await h.echo(payload), payload);
  await h.close();
  return h.backend;
}

for (const target of TARGETS) {
  describe(`admin endpoint on ${target}`, () => {
    const backends: Backend[] = [];
    let a: Backend, b: Backend, c: Backend;
    let lb: Streamlb;
    let port: number, adminPort: number;
    let dir: string, file: string, stateFile: string;

    const api = async (method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Response> => {
      const headers: Record<string, string> = {};
      if (token !== null) headers["authorization"] = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      return fetch(`http://127.0.0.1:${adminPort}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    };
    const status = async () =>
      (await (await api("GET", "/status")).json()) as {
        config: { generation: number };
        sessions: { active: number };
        upstreams: Record<string, { servers: Array<{ address: string; state: string; active: number }> }>;
      };
    const idle = async () => {
      for (let i = 0; i < 200 && (await status()).sessions.active > 0; i++) await sleep(20);
    };

    before(async () => {
      backends.push(...(await Promise.all(["a", "b", "c"].map((n) => startNamedEcho(n)))));
      [a, b, c] = backends as [Backend, Backend, Backend];
      [port, adminPort] = (await freePorts(2)) as [number, number];
      dir = tempDir();
      file = join(dir, "streamlb.yaml");
      stateFile = join(dir, "u.state");
      writeFileSync(
        file,
        `
error_log: { path: stderr, level: notice }
admin: { listen: "127.0.0.1:${adminPort}", token: ${TOKEN} }
stream:
  upstreams:
    u:
      state: u.state
      servers: ["${a.address}", "${b.address}"]
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: u }
`,
      );
      lb = await startStreamlb(target, file);
    });

    after(async () => {
      await lb?.stop();
      await Promise.all(backends.map((x) => x.close()));
    });

    test("without the token: 401 everywhere but /healthz", async () => {
      assert.equal((await api("GET", "/healthz", undefined, null)).status, 200);
      for (const path of ["/", "/status", "/metrics", "/readyz", "/api/upstreams/u/servers"]) {
        const r = await api("GET", path, undefined, null);
        assert.equal(r.status, 401, path);
        assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="streamlb"');
        await r.body?.cancel();
      }
      const write = await api("POST", "/api/upstreams/u/servers", { server: c.address }, null);
      assert.equal(write.status, 401);
      assert.equal((await api("GET", "/readyz")).status, 200);
    });

    test("/metrics parses as Prometheus text and its counters match the traffic sent", async () => {
      const payloads = ["x", "hello", "0123456789", "streamlb", "ab", "metrics!"];
      const picked: string[] = [];
      for (const p of payloads) picked.push(await session(port, `${p}\n`));
      await idle();
      const r = await api("GET", "/metrics");
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const families = parsePrometheusTextFormat(await r.text());
      const family = (name: string): PrometheusFamily => {
        const f = families.find((x) => x.name === name);
        assert.ok(f, `no ${name}`);
        return f;
      };
      const value = (name: string, labels: Record<string, string>): number => {
        const m = family(name).metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
        assert.ok(m, `no ${name}${JSON.stringify(labels)}`);
        return Number(m.value);
      };
      assert.equal(family("streamlb_upstream_server_connections_total").type, "COUNTER");
      assert.equal(family("streamlb_upstream_server_up").type, "GAUGE");
      let sessions = 0;
      for (const backend of [a, b]) {
        const name = backend.name;
        const mine = payloads.filter((_, i) => picked[i] === name);
        assert.equal(mine.length, 3, "round robin: three sessions each");
        const labels = { upstream: "u", server: backend.address };
        sessions += value("streamlb_upstream_server_connections_total", labels);
        assert.equal(value("streamlb_upstream_server_connections_total", labels), 3);
        const sent = mine.reduce((n, p) => n + p.length + 1, 0);
        assert.equal(value("streamlb_upstream_server_bytes_total", { ...labels, direction: "sent" }), sent);
        assert.equal(value("streamlb_upstream_server_bytes_total", { ...labels, direction: "received" }), sent + 3 * 2);
        assert.equal(value("streamlb_upstream_server_up", labels), 1);
        assert.equal(value("streamlb_upstream_server_connections_active", labels), 0);
        assert.equal(value("streamlb_upstream_server_connect_failures_total", labels), 0);
        assert.equal(value("streamlb_upstream_server_state", { ...labels, state: "up" }), 1);
      }
      assert.equal(sessions, payloads.length);
      const listener = { listener: `127.0.0.1:${port}` };
      assert.equal(value("streamlb_listener_connections_total", listener), payloads.length);
      assert.equal(value("streamlb_listener_sessions_total", { ...listener, status: "200" }), payloads.length);
      const clientBytes = payloads.reduce((n, p) => n + p.length + 1, 0);
      assert.equal(value("streamlb_listener_bytes_total", { ...listener, direction: "received" }), clientBytes);
      assert.equal(value("streamlb_listener_bytes_total", { ...listener, direction: "sent" }), clientBytes + payloads.length * 2);
      assert.equal(value("streamlb_config_generation", {}), 1);
      assert.ok(value("streamlb_uptime_seconds", {}) > 0);
      assert.equal(value("streamlb_info", { runtime: target === "binary" ? "bun" : target }), 1);
    });

    test("a long-lived session's bytes show in /status while it is still open", async () => {
      const bytesOf = async (server: string) => {
        const st = (await (await api("GET", "/status")).json()) as {
          upstreams: Record<string, { servers: Array<{ address: string; bytes: { sent: number; received: number } }> }>;
        };
        return st.upstreams["u"]!.servers.find((x) => x.address === server)!.bytes;
      };
      const h = await Held.open(port);
      const server = [a, b].find((x) => x.name === h.backend)!.address;
      const before = await bytesOf(server);
      const payload = "chat message\n".repeat(500);
      assert.equal(await h.echo(payload), payload);
      const during = await bytesOf(server);
      assert.equal(during.sent - before.sent, payload.length, "sent counts the live session");
      // The greeting was already counted in `before`: the session was live then too.
      assert.equal(during.received - before.received, payload.length, "received too");
      await h.close();
      await idle();
      assert.deepEqual(await bytesOf(server), during, "no double count once the session ends");
    });

    test("drain: no new sessions to the server, a live one goes on; add: the new server gets traffic; no reload", async () => {
      const live = await Held.open(port);
      const drained = live.backend === "a" ? a : b;
      const other = drained === a ? b : a;
      let r = await api("PATCH", `/api/upstreams/u/servers/${drained.address}`, { drain: true });
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { state: string }).state, "draining");

      const picks = [];
      for (let i = 0; i < 4; i++) picks.push(await session(port, "n\n"));
      assert.deepEqual(picks, Array(4).fill(other.name), "nothing new goes to the draining server");
      assert.equal(await live.echo("still here\n"), "still here\n", "the live session goes on");
      const s = await status();
      const row = s.upstreams["u"]!.servers.find((x) => x.address === drained.address)!;
      assert.deepEqual([row.state, row.active], ["draining", 1]);

      r = await api("POST", "/api/upstreams/u/servers", { server: c.address, weight: 1 });
      assert.equal(r.status, 201);
      const after = [];
      for (let i = 0; i < 4; i++) after.push(await session(port, "m\n"));
      assert.deepEqual([...after].sort(), [other.name, other.name, "c", "c"], "the added server takes its share at once");
      assert.equal((await status()).config.generation, 1, "no reload happened");
      assert.equal(await live.echo("and now\n"), "and now\n");
      await live.close();
      assert.match(lb.log(), new RegExp(`admin API: upstream u: \\+${c.address.replace(/\./g, "\\.")}, kept in .*u\\.state`));
    });

    test("with `state`, the changes survive a reload", async () => {
      const state = readFileSync(stateFile, "utf8");
      assert.match(state, new RegExp(`^server ${a.address.replace(/\./g, "\\.")}( drain)?;$`, "m"));
      assert.match(state, new RegExp(`^server ${c.address.replace(/\./g, "\\.")};$`, "m"));
      assert.match(state, / drain;$/m);
      lb.signal("SIGHUP");
      await lb.waitForLog(/reconfigured \(generation 2\)/);
      const s = await status();
      assert.equal(s.config.generation, 2);
      assert.deepEqual(
        s.upstreams["u"]!.servers.map((x) => [x.address, x.state]),
        [a, b, c].map((x) => [x.address, state.includes(`server ${x.address} drain;`) ? "draining" : "up"]),
      );
      const picks = new Set<string>();
      for (let i = 0; i < 4; i++) picks.add(await session(port, "r\n"));
      assert.ok(picks.has("c"), "the server added at run time is still there");
      assert.equal(
        [...picks].filter((p) => state.includes(`server ${backends.find((x) => x.name === p)!.address} drain;`)).length,
        0,
      );

      const r = await api("DELETE", `/api/upstreams/u/servers/${c.address}`);
      assert.equal(r.status, 200);
      for (let i = 0; i < 3; i++) assert.notEqual(await session(port, "d\n"), "c");
      assert.doesNotMatch(readFileSync(stateFile, "utf8"), new RegExp(c.address.replace(/\./g, "\\.")));
    });
  });
}
