// worker_processes 2 behaves as one balancer, on every target: least_conn spreads held
// sessions exactly as one worker does (each worker weighs the other's sessions too), and
// /status and /metrics count both workers' sessions, not only the one that serves them.
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { type Backend, freePorts, startBackend } from "../support/backends.ts";
import { alive, startStreamlb, type Streamlb, TARGETS, tempDir } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Counted extends Backend {
  live: number;
}

/** A backend that greets with its name, echoes, and counts its open connections. */
async function countedBackend(name: string): Promise<Counted> {
  const b: Counted = Object.assign(
    await startBackend(name, 0, (socket) => {
      b.live++;
      socket.on("close", () => b.live--);
      socket.write(`${name}\n`);
      socket.pipe(socket);
    }),
    { live: 0 },
  );
  return b;
}

/** A client that stays connected; resolves once the backend's name arrived. */
function holdOpen(port: number): Promise<{ name: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
      const nl = text.indexOf("\n");
      if (nl >= 0) resolve({ name: text.slice(0, nl), socket });
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed before a line arrived ("${text}")`)));
  });
}

interface Status {
  workers?: number;
  sessions: { active: number };
  listeners: { connections: { total: number; active: number } }[];
  upstreams: Record<string, { servers: { address: string; active: number; connections_total: number }[] }>;
}

async function waitFor<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(20);
  }
}

/** One run: `workers` processes, 12 held sessions, then 4 closed and 4 new. Returns the spreads seen. */
async function run(
  target: string,
  workers: number,
): Promise<{ spreads: number[][]; status: Status; metrics: string; pids: number }> {
  const backends = await Promise.all(["a", "b", "c"].map(countedBackend));
  const [port, adminPort] = (await freePorts(2)) as [number, number];
  const dir = tempDir();
  const file = join(dir, "streamlb.yaml");
  writeFileSync(
    file,
    `worker_processes: ${workers}
pid: ${join(dir, "streamlb.pid")}
error_log: { path: stderr, level: info }
admin: { listen: "127.0.0.1:${adminPort}" }
stream:
  upstreams:
    u:
      least_conn: true
      servers: [${backends.map((b) => `"${b.address}"`).join(", ")}]
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: u }
`,
  );
  const status = async (): Promise<Status> => (await fetch(`http://127.0.0.1:${adminPort}/status`)).json() as Promise<Status>;
  const spread = () => backends.map((b) => b.live);
  const clients: { name: string; socket: net.Socket }[] = [];
  let lb: Streamlb | null = null;
  const pids = new Set<number>();
  try {
    lb = await startStreamlb(target as never, file);
    const log = lb.log;
    await waitFor("every worker listening", async () => [...log().matchAll(/listening on/g)].length, (n) => n >= workers, 15_000);
    await waitFor(
      "the admin endpoint",
      () => fetch(`http://127.0.0.1:${adminPort}/healthz`).then((r) => r.status, () => 0),
      (s) => s === 200,
    );
    const spreads: number[][] = [];
    const open = async () => {
      clients.push(await holdOpen(port));
      // /status sums every worker; once it counts this session, every worker knows of it.
      await waitFor(`${clients.length} sessions in /status`, status, (s) => s.sessions.active === clients.length);
      spreads.push(spread());
    };
    for (let i = 0; i < 12; i++) await open();
    // The four on "a" end: a is the least loaded now, for whichever worker takes the next.
    for (const c of clients.filter((c) => c.name === "a")) c.socket.destroy();
    clients.splice(0, clients.length, ...clients.filter((c) => c.name !== "a"));
    await waitFor("8 sessions left", status, (s) => s.sessions.active === 8);
    await waitFor("a's sessions gone", async () => backends[0]!.live, (n) => n === 0);
    for (let i = 0; i < 4; i++) await open();
    const summed = await status();
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    for (const m of log().matchAll(/\] (\d+)#0: \*\d+ proxy \S+ connected to/g)) pids.add(Number(m[1]));
    return { spreads, status: summed, metrics, pids: pids.size };
  } finally {
    for (const c of clients) c.socket.destroy();
    if (lb) {
      lb.signal("SIGINT");
      await lb.exited(10_000);
    }
    for (const p of pids) if (alive(p)) process.kill(p, "SIGKILL");
    await Promise.all(backends.map((b) => b.close()));
  }
}

describe("worker_processes 2 share their state", { concurrency: true }, () => {
  for (const target of TARGETS) {
    test(target, { timeout: 60_000 }, async () => {
      const one = await run(target, 1);
      const two = await run(target, 2);
      assert.equal(two.pids, 2, "both workers took sessions");
      // least_conn with equal weights: after every held session no server has two more than another.
      for (const [runName, r] of [["1 worker", one], ["2 workers", two]] as const) {
        for (const [i, s] of r.spreads.slice(0, 12).entries()) {
          assert.ok(Math.max(...s) - Math.min(...s) <= 1, `${runName}, session ${i + 1}: spread ${s.join(",")}`);
        }
        // Then a, emptied, is the least loaded for each of the next four, whichever worker takes it.
        assert.deepEqual(r.spreads.slice(12), [[1, 4, 4], [2, 4, 4], [3, 4, 4], [4, 4, 4]], runName);
      }
      assert.deepEqual(
        two.spreads.map((s) => [...s].sort()),
        one.spreads.map((s) => [...s].sort()),
        "the same spread as 1 worker",
      );

      // /status sums both workers: 12 live sessions, 16 accepted, 4 on each server now.
      assert.equal(two.status.workers, 2);
      assert.equal(two.status.sessions.active, 12);
      assert.deepEqual(two.status.listeners[0]!.connections, { total: 16, active: 12 });
      assert.deepEqual(two.status.upstreams["u"]!.servers.map((s) => s.active), [4, 4, 4]);
      assert.deepEqual(two.status.upstreams["u"]!.servers.map((s) => s.connections_total), [8, 4, 4]);
      assert.match(two.metrics, /^streamlb_sessions_active 12$/m);
      assert.match(two.metrics, /^streamlb_listener_connections_total\{[^}]*\} 16$/m);
      assert.equal(one.status.workers, undefined, "a lone process says nothing of workers");
    });
  }
});
