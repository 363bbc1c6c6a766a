// Issue 3's acceptance: real nginx (Debian's 1.22 stream module) and streamlb, given the same
// upstreams, send the same connections to the same backends, pick by pick: smooth WRR with
// mixed weights, down and backup; least_conn with held connections; hash $remote_addr, plain
// and consistent, over 256 client addresses; and a dead server with max_fails=1.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { type Backend, closedPort, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { ensureNginx, type Nginx, startNginx, STREAM_MODULE } from "../support/nginx.ts";
import { startStreamlb, type Streamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// One stream config, spelled for nginx and for streamlb.

interface ServerLine {
  readonly address: string;
  readonly weight?: number;
  readonly maxFails?: number;
  readonly failTimeout?: string;
  readonly backup?: boolean;
  readonly down?: boolean;
}

type Method = "round_robin" | "least_conn" | "hash" | "hash consistent";

interface Scenario {
  readonly name: string;
  readonly method: Method;
  readonly servers: readonly ServerLine[];
  readonly steps: readonly Step[];
  /**
   * least_conn counts connections, so after a connection closes both balancers must have
   * released it before the next pick: wait this long after each close and each short pick.
   */
  readonly settleMs?: number;
}

/** pick: connect (from `from`), read the backend's name, close. hold: the same but stay open. */
type Step =
  | { readonly kind: "pick"; readonly from?: string }
  | { readonly kind: "hold" }
  | { readonly kind: "close"; readonly held: number };

function nginxConf(
  dir: string,
  scenarios: readonly Scenario[],
  ports: ReadonlyMap<string, number>,
  probePort: number,
): string {
  const upstreams = scenarios.map((s) => {
    const method = s.method === "least_conn"
      ? "least_conn;"
      : s.method === "hash"
      ? "hash $remote_addr;"
      : s.method === "hash consistent"
      ? "hash $remote_addr consistent;"
      : "";
    const lines = s.servers.map((v) =>
      [
        `server ${v.address}`,
        v.weight !== undefined ? ` weight=${v.weight}` : "",
        v.maxFails !== undefined ? ` max_fails=${v.maxFails}` : "",
        v.failTimeout !== undefined ? ` fail_timeout=${v.failTimeout}` : "",
        v.backup ? " backup" : "",
        v.down ? " down" : "",
        ";",
      ].join("")
    );
    return `  upstream ${s.name} {\n    ${[method, ...lines].filter(Boolean).join("\n    ")}\n  }\n`;
  });
  const servers = scenarios.map(
    (s) => `  server { listen 127.0.0.1:${ports.get(s.name)}; proxy_pass ${s.name}; }\n`,
  );
  return [
    `load_module ${STREAM_MODULE};`,
    `worker_processes 1;`,
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    `events { worker_connections 1024; }`,
    `stream {`,
    `  proxy_connect_timeout 2s;`,
    ...upstreams,
    ...servers,
    // Readiness is probed here, so no scenario's balancer state sees the probe.
    `  server { listen 127.0.0.1:${probePort}; return "ready\\n"; }`,
    `}`,
    ``,
  ].join("\n");
}

function streamlbYaml(scenarios: readonly Scenario[], ports: ReadonlyMap<string, number>): string {
  const upstreams = scenarios.map((s) => {
    const method = s.method === "least_conn"
      ? "      least_conn: true\n"
      : s.method === "hash"
      ? "      hash: { key: $remote_addr }\n"
      : s.method === "hash consistent"
      ? "      hash: { key: $remote_addr, consistent: true }\n"
      : "";
    const lines = s.servers.map((v) => {
      const fields = [`address: "${v.address}"`];
      if (v.weight !== undefined) fields.push(`weight: ${v.weight}`);
      if (v.maxFails !== undefined) fields.push(`max_fails: ${v.maxFails}`);
      if (v.failTimeout !== undefined) fields.push(`fail_timeout: ${v.failTimeout}`);
      if (v.backup) fields.push("backup: true");
      if (v.down) fields.push("down: true");
      return `        - { ${fields.join(", ")} }\n`;
    });
    return `    ${s.name}:\n${method}      servers:\n${lines.join("")}`;
  });
  const servers = scenarios.map((s) => `    - { listen: "127.0.0.1:${ports.get(s.name)}", proxy_pass: ${s.name} }\n`);
  return `error_log: { path: stderr, level: notice }\nstream:\n  proxy_connect_timeout: 2s\n  upstreams:\n${
    upstreams.join("")
  }  servers:\n${servers.join("")}`;
}

// ---------------------------------------------------------------------------------------------
// Driving one balancer through a scenario.

interface Held {
  readonly name: string;
  close(): void;
}

/** Connects, reads the greeting line, and keeps the connection open. */
function holdLine(port: number): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
      const nl = text.indexOf("\n");
      if (nl >= 0) resolve({ name: text.slice(0, nl), close: () => socket.destroy() });
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`connection to ${port} closed before a line arrived`)));
  });
}

/** A balancer's side of one scenario: the connections it holds open. */
class Driver {
  private readonly held: Held[] = [];
  constructor(readonly port: number) {}

  async step(step: Step): Promise<string> {
    switch (step.kind) {
      case "pick":
        return firstLine(this.port, "127.0.0.1", step.from);
      case "hold": {
        const h = await holdLine(this.port);
        this.held.push(h);
        return h.name;
      }
      case "close":
        this.held[step.held]!.close();
        return `closed #${step.held}`;
    }
  }

  closeAll(): void {
    for (const h of this.held) h.close();
  }
}

/** Runs the steps on both balancers alternately, so both see the same history at the same time. */
async function compare(
  nginxPort: number,
  streamlbPort: number,
  steps: readonly Step[],
  settleMs: number,
): Promise<[string[], string[]]> {
  const a = new Driver(nginxPort);
  const b = new Driver(streamlbPort);
  const fromNginx: string[] = [];
  const fromStreamlb: string[] = [];
  try {
    for (const step of steps) {
      fromNginx.push(await a.step(step));
      fromStreamlb.push(await b.step(step));
      if (settleMs && step.kind !== "hold") await sleep(settleMs);
    }
  } finally {
    a.closeAll();
    b.closeAll();
  }
  return [fromNginx, fromStreamlb];
}

/** 256 distinct client addresses on 127/8 (Linux routes all of it to lo). */
const CLIENTS = Array.from({ length: 256 }, (_, i) => `127.${10 + (i % 3)}.${i}.${1 + ((i * 37) % 254)}`);

const picks = (n: number): Step[] => Array.from({ length: n }, () => ({ kind: "pick" }) as const);
const fromEach = (addrs: readonly string[]): Step[] => addrs.map((from) => ({ kind: "pick", from }) as const);

// ---------------------------------------------------------------------------------------------

const nginx = ensureNginx();
// One runtime is enough: the balancing code is the shared core; prefer node when it is listed.
const target = TARGETS.includes("node") ? "node" : TARGETS[0];

describe(
  "nginx compatibility: the same backend, pick by pick",
  { skip: "skip" in nginx ? nginx.skip : target === undefined ? "no streamlb target selected" : false },
  () => {
    const backends: Backend[] = [];
    let scenarios: Scenario[] = [];
    let nginxPorts = new Map<string, number>();
    let streamlbPorts = new Map<string, number>();
    let ngx: Nginx | null = null;
    let lb: Streamlb | null = null;

    before(async () => {
      if (!("bin" in nginx) || target === undefined) return;
      const named = async (n: string) => {
        const b = await startNamedEcho(n);
        backends.push(b);
        return b.address;
      };
      const [a, b, c, d, e, f] = await Promise.all(["a", "b", "c", "d", "e", "f"].map(named));
      const dead = `127.0.0.1:${await closedPort()}`;
      const dead2 = `127.0.0.1:${await closedPort()}`;
      const mixed: ServerLine[] = [
        { address: a!, weight: 5 },
        { address: b!, weight: 2 },
        { address: c! },
        { address: d!, down: true },
        { address: e!, weight: 3 },
      ];
      scenarios = [
        {
          name: "wrr",
          method: "round_robin",
          servers: [...mixed, { address: f!, backup: true }],
          steps: picks(44),
        },
        {
          name: "wrr_dead",
          method: "round_robin",
          servers: [
            { address: dead, maxFails: 1, failTimeout: "30s", weight: 2 },
            { address: a! },
            { address: b!, weight: 2 },
            { address: f!, backup: true },
          ],
          steps: picks(20),
        },
        {
          name: "backup",
          method: "round_robin",
          servers: [
            { address: dead, maxFails: 1, failTimeout: "30s" },
            { address: dead2, maxFails: 1, failTimeout: "30s" },
            { address: e!, backup: true },
            { address: f!, backup: true, weight: 2 },
            { address: a!, backup: true, down: true },
          ],
          steps: picks(12),
        },
        {
          name: "least_conn",
          method: "least_conn",
          servers: [{ address: a! }, { address: b!, weight: 2 }, { address: c! }, { address: d!, down: true }],
          steps: [
            ...Array.from({ length: 6 }, () => ({ kind: "hold" }) as const),
            { kind: "close", held: 1 },
            { kind: "close", held: 4 },
            { kind: "hold" },
            { kind: "hold" },
            { kind: "hold" },
            { kind: "close", held: 0 },
            { kind: "close", held: 2 },
            { kind: "close", held: 3 },
            ...Array.from({ length: 5 }, () => ({ kind: "hold" }) as const),
            ...picks(6),
          ],
          settleMs: 60,
        },
        {
          name: "least_conn_dead",
          method: "least_conn",
          servers: [
            { address: a! },
            { address: dead, maxFails: 1, failTimeout: "30s", weight: 3 },
            { address: b! },
            { address: e!, backup: true },
          ],
          steps: [...Array.from({ length: 8 }, () => ({ kind: "hold" }) as const), ...picks(4)],
          settleMs: 60,
        },
        { name: "hash", method: "hash", servers: mixed, steps: fromEach(CLIENTS) },
        { name: "hash_consistent", method: "hash consistent", servers: mixed, steps: fromEach(CLIENTS) },
        {
          name: "hash_dead",
          method: "hash",
          servers: [{ address: a! }, { address: dead, maxFails: 1, failTimeout: "30s" }, { address: b!, weight: 2 }, {
            address: c!,
          }],
          steps: fromEach(CLIENTS.slice(0, 80)),
        },
        {
          name: "chash_dead",
          method: "hash consistent",
          servers: [{ address: a! }, { address: dead, maxFails: 1, failTimeout: "30s" }, { address: b!, weight: 2 }, {
            address: c!,
          }],
          steps: fromEach(CLIENTS.slice(0, 80)),
        },
      ];
      const ports = await freePorts(scenarios.length * 2 + 1);
      const probePort = ports.pop()!;
      nginxPorts = new Map(scenarios.map((s, i) => [s.name, ports[2 * i]!]));
      streamlbPorts = new Map(scenarios.map((s, i) => [s.name, ports[2 * i + 1]!]));

      const dir = tempDir();
      ngx = await startNginx(nginx.bin, dir, nginxConf(dir, scenarios, nginxPorts, probePort), probePort);
      lb = await startStreamlb(target, writeConfig(streamlbYaml(scenarios, streamlbPorts)));
    });

    after(async () => {
      await ngx?.stop();
      await lb?.stop();
      await Promise.all(backends.map((b) => b.close()));
    });

    const scenario = (name: string) => scenarios.find((s) => s.name === name)!;
    const check = async (name: string) => {
      const s = scenario(name);
      const [fromNginx, fromStreamlb] = await compare(
        nginxPorts.get(name)!,
        streamlbPorts.get(name)!,
        s.steps,
        s.settleMs ?? 0,
      );
      const diverged = fromNginx.findIndex((n, i) => n !== fromStreamlb[i]);
      assert.deepEqual(
        fromStreamlb,
        fromNginx,
        `${name}: streamlb (${target}) diverged from nginx at step ${diverged}\n` +
          `nginx error log tail:\n${ngx!.log().split("\n").slice(-15).join("\n")}\nstreamlb log tail:\n${
            lb!
              .log()
              .split("\n")
              .slice(-15)
              .join("\n")
          }`,
      );
      return fromNginx;
    };

    test("smooth WRR with weights 5,2,1,3, a down server and an unused backup", async () => {
      const seq = await check("wrr");
      assert.ok(!seq.includes("d") && !seq.includes("f"), seq.join(" "));
      assert.deepEqual(
        ["a", "b", "c", "e"].map((n) => seq.filter((x) => x === n).length),
        [20, 8, 4, 12],
      );
    });

    test("a dead server with max_fails=1: retried elsewhere in the session, then skipped", async () => {
      const seq = await check("wrr_dead");
      assert.ok(seq.every((n) => n === "a" || n === "b"), seq.join(" "));
    });

    test("backups take over once every primary is dead, with their own weights", async () => {
      const seq = await check("backup");
      assert.ok(seq.every((n) => n === "e" || n === "f"), seq.join(" "));
    });

    test("least_conn with held and released connections", async () => {
      await check("least_conn");
    });

    test("least_conn with a dead server and a backup", async () => {
      await check("least_conn_dead");
    });

    test("hash $remote_addr over 256 client addresses", async () => {
      const seq = await check("hash");
      assert.ok(new Set(seq).size >= 3, `keys spread over several servers: ${[...new Set(seq)]}`);
    });

    test("hash $remote_addr consistent over 256 client addresses", async () => {
      const seq = await check("hash_consistent");
      assert.ok(new Set(seq).size >= 3, `keys spread over several servers: ${[...new Set(seq)]}`);
    });

    test("hash with a dead server (max_fails=1): rehashed the same way", async () => {
      await check("hash_dead");
    });

    test("hash consistent with a dead server (max_fails=1): the same next point", async () => {
      await check("chash_dead");
    });
  },
);
