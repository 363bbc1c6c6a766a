// The workloads, each one load-generator run against one port. Load generators (and the
// backends) run on CPU 1; the balancer under test has CPU 0 to itself.
import { BACKENDS, type Workload } from "./configs.ts";
import { rssBytes, run, sleep, start, stop, treeRssBytes } from "./procs.ts";

export const LOAD_CPU = 1;

export type ScenarioName = "bulk1" | "bulk4" | "keepalive" | "newconn" | "rtt1" | "rtt100" | "idle";
export const SCENARIOS: readonly ScenarioName[] = ["bulk1", "bulk4", "keepalive", "newconn", "rtt1", "rtt100", "idle"];

export interface RunContext {
  readonly port: number;
  readonly durationS: number;
  /** The balancer's PID, null for the direct connection. */
  readonly balancerPid: number | null;
  /** The balancer is a master with workers: its memory is that of all its processes. */
  readonly balancerTree: boolean;
  readonly idleConns: number;
  readonly tcptool: string;
}

export interface Measurement {
  /** The scenario's headline number. */
  readonly value: number;
  /** Secondary numbers (latency percentiles...), by key of Scenario.extras. */
  readonly extras: Readonly<Record<string, number>>;
  readonly errors: number;
}

export interface Scenario {
  readonly name: ScenarioName;
  readonly title: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly workload: Workload;
  /** Meaningless without a balancer (memory of the balancer). */
  readonly needsBalancer: boolean;
  readonly extras: readonly { key: string; label: string; unit: string }[];
  /** How long one run takes beyond its duration, for the time estimate. */
  readonly overheadS: number;
  measure(ctx: RunContext): Promise<Measurement>;
}

const timeout = (ctx: RunContext) => (ctx.durationS + 30) * 1000;

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
      [ctx.tcptool, "pingpong", String(ctx.port), String(conns), String(ctx.durationS), "32"],
      timeout(ctx),
    );
    const r = JSON.parse(out.trim().split("\n").pop()!) as { rate: number; p50Us: number; p99Us: number; errors: number };
    return { value: r.rate, extras: { p50: r.p50Us, p99: r.p99Us }, errors: r.errors };
  };
}

/**
 * RSS of the balancer before and while it holds `idleConns` proxied connections, each proven
 * with one 32-byte echo (so a balancer that allocates buffers on first data has done so).
 * For a master and its workers, the sum over all of them.
 */
const idle: Scenario["measure"] = async (ctx) => {
  const pid = ctx.balancerPid!;
  const rss = () => (ctx.balancerTree ? treeRssBytes(pid) : rssBytes(pid));
  const before = rss();
  const holder = start("tcptool hold", LOAD_CPU, [ctx.tcptool, "hold", String(ctx.port), String(ctx.idleConns)], {
    stdin: true,
  });
  try {
    const deadline = Date.now() + 60_000;
    let m: RegExpExecArray | null = null;
    while (!(m = /ready (\d+) errors (\d+)/.exec(holder.output()))) {
      if (holder.child.exitCode !== null) throw new Error(`tcptool hold exited: ${holder.output()}`);
      if (Date.now() > deadline) throw new Error(`tcptool hold: not ready after 60 s: ${holder.output()}`);
      await sleep(50);
    }
    await sleep(1000); // let the balancer finish whatever it does after the last echo
    const during = rss();
    const ready = Number(m[1]);
    return {
      value: (during - before) / Math.max(1, ready) / 1024,
      extras: { before: before / 1048576, during: during / 1048576 },
      errors: Number(m[2]),
    };
  } finally {
    holder.child.stdin!.end();
    const timer = setTimeout(() => void stop(holder), 10_000);
    await holder.exited;
    clearTimeout(timer);
    await sleep(500); // the balancer closes its side of every connection
  }
};

export const SCENARIO_DEFS: Record<ScenarioName, Scenario> = {
  bulk1: {
    name: "bulk1",
    title: "Bulk throughput, 1 stream (iperf 2)",
    unit: "Gbit/s",
    higherIsBetter: true,
    workload: "bulk",
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
    workload: "bulk",
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
    workload: "http",
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
    workload: "http",
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
    workload: "echo",
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
    workload: "echo",
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
    workload: "echo",
    needsBalancer: true,
    extras: [
      { key: "before", label: "RSS before", unit: "MiB" },
      { key: "during", label: "RSS held", unit: "MiB" },
    ],
    overheadS: 3,
    measure: idle,
  },
};

/** Ports the direct connection uses for each workload: the first backend. */
export const DIRECT_PORTS: Record<Workload, number> = {
  bulk: BACKENDS.bulk[0],
  http: BACKENDS.http[0],
  echo: BACKENDS.echo[0],
};
