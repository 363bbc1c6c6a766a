// The workloads, each one load-generator run against one port. Load generators (and the
// backends) run on CPU 1; the balancer under test has CPU 0 to itself.
import { BACKEND_OF, BACKENDS, type Listener } from "./configs.ts";
import { FEATURE_SCENARIOS } from "./feature-scenarios.ts";
import { heldMemory } from "./held-memory.ts";
import { run } from "./procs.ts";
import { LOAD_CPU, type RunContext, type Scenario, type ScenarioName, timeout } from "./scenario-types.ts";

export { LOAD_CPU } from "./scenario-types.ts";
export type { Measurement, RunContext, Scenario, ScenarioName, Tools } from "./scenario-types.ts";

export const SCENARIOS: readonly ScenarioName[] = [
  "bulk1",
  "bulk4",
  "keepalive",
  "newconn",
  "rtt1",
  "rtt100",
  "idle",
  "conn",
  "pp",
  "sni",
  "udp1",
  "udp200",
  "udpmem",
  "tlsfull",
  "tlsresume",
  "tlsbulk",
];

function iperf(parallel: number): Scenario["measure"] {
  return async (ctx) => {
    const args = ["iperf", "-c", "127.0.0.1", "-p", String(ctx.port), "-t", String(ctx.durationS), "-y", "C"];
    if (parallel > 1) args.push("-P", String(parallel));
    const out = await run("iperf", LOAD_CPU, args, timeout(ctx));
    // CSV: time,src,sport,dst,dport,id,interval,bytes,bits/s. iperf 2.1 prints one line per
    // stream (a sum line with id -1 on some versions): sum the streams, skip any sum line.
    let bps = 0;
    let streams = 0;
    for (const line of out.split("\n")) {
      const f = line.trim().split(",");
      if (f.length < 9 || f[5] === "-1") continue;
      bps += Number(f[8]);
      streams++;
    }
    if (streams !== parallel) throw new Error(`iperf reported ${streams} of ${parallel} streams: ${out}`);
    return { value: bps / 1e9, extras: {}, errors: 0 };
  };
}

function wrk(close: boolean): Scenario["measure"] {
  return async (ctx) => {
    const args = ["wrk", "-t1", "-c64", `-d${ctx.durationS}s`, "--latency"];
    if (close) args.push("-H", "Connection: close");
    args.push(`http://127.0.0.1:${ctx.port}/`);
    const out = await run("wrk", LOAD_CPU, args, timeout(ctx));
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (!rps) throw new Error(`no Requests/sec in wrk output: ${out}`);
    const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
    const p50 = /^\s*50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    // With Connection: close the backend closes after each response; wrk counts some of those
    // closes as read errors although every response arrived, so only the others count.
    const errors = (sock ? Number(sock[1]) + (close ? 0 : Number(sock[2])) + Number(sock[3]) + Number(sock[4]) : 0) +
      (non2xx ? Number(non2xx[1]) : 0);
    const ms = (m: RegExpExecArray | null) => m ? Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1) : Number.NaN;
    return { value: Number(rps[1]), extras: { p50: ms(p50), p99: ms(p99) }, errors };
  };
}

function pingpong(conns: number): Scenario["measure"] {
  return async (ctx) => {
    const out = await run(
      "tcptool pingpong",
      LOAD_CPU,
      [ctx.tools.tcptool, "pingpong", String(ctx.port), String(conns), String(ctx.durationS), "32"],
      timeout(ctx),
    );
    const r = JSON.parse(out.trim().split("\n").pop()!) as { rate: number; p50Us: number; p99Us: number; errors: number };
    return { value: r.rate, extras: { p50: r.p50Us, p99: r.p99Us }, errors: r.errors };
  };
}

/** Memory per idle proxied connection: tcptool hold, each connection proven with one 32 B echo. */
const idle = heldMemory(
  "tcptool hold",
  (ctx: RunContext) => [ctx.tools.tcptool, "hold", String(ctx.port), String(ctx.idleConns)],
);

export const SCENARIO_DEFS = {
  bulk1: {
    name: "bulk1",
    title: "Bulk throughput, 1 stream (iperf 2)",
    unit: "Gbit/s",
    higherIsBetter: true,
    listener: "bulk",
    needsBalancer: false,
    extras: [],
    overheadS: 0.3,
    measure: iperf(1),
  },
  bulk4: {
    name: "bulk4",
    title: "Bulk throughput, 4 streams (iperf 2 -P 4)",
    unit: "Gbit/s",
    higherIsBetter: true,
    listener: "bulk",
    needsBalancer: false,
    extras: [],
    overheadS: 0.3,
    measure: iperf(4),
  },
  keepalive: {
    name: "keepalive",
    title: "HTTP keep-alive through the balancer (wrk -t1 -c64)",
    unit: "req/s",
    higherIsBetter: true,
    listener: "http",
    needsBalancer: false,
    extras: [
      { key: "p50", label: "p50", unit: "ms" },
      { key: "p99", label: "p99", unit: "ms" },
    ],
    overheadS: 0.2,
    measure: wrk(false),
  },
  newconn: {
    name: "newconn",
    title: "A new connection per request (wrk -t1 -c64, Connection: close)",
    unit: "req/s",
    higherIsBetter: true,
    listener: "http",
    needsBalancer: false,
    extras: [
      { key: "p50", label: "p50", unit: "ms" },
      { key: "p99", label: "p99", unit: "ms" },
    ],
    overheadS: 0.2,
    measure: wrk(true),
  },
  rtt1: {
    name: "rtt1",
    title: "32 B round trips, 1 connection",
    unit: "rt/s",
    higherIsBetter: true,
    listener: "echo",
    needsBalancer: false,
    extras: [
      { key: "p50", label: "p50", unit: "µs" },
      { key: "p99", label: "p99", unit: "µs" },
    ],
    overheadS: 0.1,
    measure: pingpong(1),
  },
  rtt100: {
    name: "rtt100",
    title: "32 B round trips, 100 connections",
    unit: "rt/s",
    higherIsBetter: true,
    listener: "echo",
    needsBalancer: false,
    extras: [
      { key: "p50", label: "p50", unit: "µs" },
      { key: "p99", label: "p99", unit: "µs" },
    ],
    overheadS: 0.1,
    measure: pingpong(100),
  },
  idle: {
    name: "idle",
    title: "Memory per idle proxied connection (RSS delta / connections)",
    unit: "KiB/conn",
    higherIsBetter: false,
    listener: "echo",
    needsBalancer: true,
    extras: [
      { key: "before", label: "RSS before", unit: "MiB" },
      { key: "during", label: "RSS held", unit: "MiB" },
    ],
    overheadS: 3,
    measure: idle,
  },
  ...FEATURE_SCENARIOS,
} as Record<ScenarioName, Scenario>;

/** The port the direct connection uses for a listener's scenarios: its first backend. */
export const directPort = (l: Listener): number => BACKENDS[BACKEND_OF[l]][0];
