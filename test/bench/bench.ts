// The side-by-side benchmark: streamlb under Node, Deno, Bun and as the compiled binary,
// against nginx (1 worker) and HAProxy (1 thread, mode tcp) with equivalent configs, and a
// direct connection as the limit. Run it with `npm run bench` (test/bench/run.sh installs
// the tools and builds first); `--help` lists the options.
//
// Method: the balancer under test is pinned to CPU 0, every load generator and backend to
// CPU 1. nginx-w2 and binary-w2 (a master and 2 workers) may use both CPUs, so their second
// worker shares CPU 1 with the load: what 2 workers give on this 2-core machine. All
// balancers run at once on their own ports (idle ones cost nothing), and each round of a
// scenario visits every target in turn, so slow drifts in machine load (other work on a
// shared VM) spread over all targets instead of hitting one.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  ALL_TARGETS,
  BALANCER_CPU,
  basePort,
  listenersOf,
  startBalancer,
  type StartOptions,
  STREAMLB,
  type TargetName,
  workersOf,
} from "./balancers.ts";
import { BACKEND_OF, BACKENDS, listenPorts, nginxHttpConf, type Workload } from "./configs.ts";
import {
  cpuSeconds,
  listening,
  type Proc,
  setClockTicks,
  sleep,
  start,
  stop,
  stopAll,
  treeCpuSeconds,
  waitListening,
} from "./procs.ts";
import { detailTables, type Results, type Sample, summaryTable } from "./report.ts";
import { directPort, LOAD_CPU, type Scenario, SCENARIO_DEFS, type ScenarioName, SCENARIOS, type Tools } from "./scenarios.ts";
import { buildTools, have, makeCertificate, versionOf } from "./tools.ts";

/** Runtimes with a JIT get a short unmeasured run of each scenario first. */
const NEEDS_WARMUP = STREAMLB;

const USAGE = `Usage: npm run bench -- [options]      (or: bash test/bench/run.sh [options])

  --quick               smoke check: 1 run of 1 s per scenario, 1000 idle connections, no warm-up
  --runs N              runs per scenario and target (default 3; median and min–max reported)
  --duration S          seconds per run (default 5)
  --targets LIST        comma list of ${ALL_TARGETS.join(",")} (default all; binary-b only with --binary-b)
  --scenarios LIST      comma list of ${SCENARIOS.join(",")} (default all)
  --idle-conns N        connections (or UDP sessions) held for the memory scenarios (default 9000)
  --binary-b PATH       another streamlb binary, measured as target binary-b beside dist/streamlb
                        (an A/B of two builds in one run; it gets the plain-proxy scenarios only)
  --out DIR             where the report (markdown + JSON) goes (default test/artifacts)
  -h, --help            this help

Environment: BENCH_QUICK=1, BENCH_TARGETS=..., BENCH_SCENARIOS=..., BENCH_BINARY_B=... do the same as the flags;
BENCH_BINARY_B_FULL=1 lets binary-b serve every listener (a recent build, not one from before the phases).
`;

/** The repo root, from this file's place (src: test/bench/, built: dist/js/test/bench/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "src/default.yaml"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the streamlb repo root above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

interface Options {
  runs: number;
  durationS: number;
  targets: TargetName[];
  scenarios: ScenarioName[];
  idleConns: number;
  warmup: boolean;
  outDir: string;
  binaryB: string | null;
}

function options(root: string): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      runs: { type: "string" },
      duration: { type: "string" },
      targets: { type: "string" },
      scenarios: { type: "string" },
      "idle-conns": { type: "string" },
      out: { type: "string" },
      "binary-b": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const quick = values.quick ?? process.env["BENCH_QUICK"] === "1";
  const list = <T extends string>(text: string | undefined, all: readonly T[], what: string): T[] => {
    if (!text) return [...all];
    const picked = text.split(",").map((s) => s.trim()).filter(Boolean);
    for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} "${p}" (expected ${all.join(", ")})`);
    return all.filter((a) => picked.includes(a)); // canonical order
  };
  const num = (text: string | undefined, fallback: number, what: string): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!(n > 0)) throw new Error(`--${what} needs a positive number, got "${text}"`);
    return n;
  };
  const binaryB = values["binary-b"] ?? process.env["BENCH_BINARY_B"] ?? null;
  const defaultTargets = binaryB ? ALL_TARGETS : ALL_TARGETS.filter((t) => t !== "binary-b");
  const targets = list(values.targets ?? process.env["BENCH_TARGETS"], ALL_TARGETS, "target");
  return {
    runs: Math.round(num(values.runs, quick ? 1 : 3, "runs")),
    durationS: num(values.duration, quick ? 1 : 5, "duration"),
    targets: values.targets ?? process.env["BENCH_TARGETS"] ? targets : [...defaultTargets],
    scenarios: list(values.scenarios ?? process.env["BENCH_SCENARIOS"], SCENARIOS, "scenario"),
    idleConns: Math.round(num(values["idle-conns"], quick ? 1000 : 9000, "idle-conns")),
    warmup: !quick,
    outDir: resolve(values.out ?? join(root, "test/artifacts")),
    binaryB: binaryB ? resolve(binaryB) : null,
  };
}

async function startBackends(dir: string, workloads: Set<Workload>, tools: Tools): Promise<Proc[]> {
  const tcptool = tools.tcptool;
  const waits: Promise<void>[] = [];
  const procs: Proc[] = [];
  if (workloads.has("bulk")) {
    // The bulk backends discard what they get; iperf 2 is the client. (iperf 2.1.8's own
    // server corrupts its heap when several streams from one address come and go.)
    const p = start("tcptool sink", LOAD_CPU, [tcptool, "sink", ...BACKENDS.bulk.map(String)]);
    procs.push(p);
    waits.push(waitListening(p, BACKENDS.bulk));
  }
  if (workloads.has("http")) {
    const conf = join(dir, "nginx-http.conf");
    writeFileSync(conf, nginxHttpConf(dir));
    const p = start("nginx http backend", LOAD_CPU, ["nginx", "-p", dir, "-e", "stderr", "-c", conf]);
    procs.push(p);
    waits.push(waitListening(p, BACKENDS.http));
  }
  if (workloads.has("echo")) {
    const p = start("tcptool echo", LOAD_CPU, [tcptool, "echo", ...BACKENDS.echo.map(String)]);
    procs.push(p);
    waits.push(waitListening(p, BACKENDS.echo));
  }
  if (workloads.has("udp")) {
    const p = start("udptool echo", LOAD_CPU, [tools.udptool, "echo", ...BACKENDS.udp.map(String)]);
    procs.push(p);
    waits.push(waitListening(p, [], 20_000, 0, BACKENDS.udp));
  }
  await Promise.all(waits);
  return procs;
}

const running = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

function nofileLimit(): number {
  try {
    return Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim()) || 1024;
  } catch {
    return 1024;
  }
}

function machineInfo(root: string): Record<string, string> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const bin = (n: string) => join(root, "node_modules/.bin", n);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    nproc: String(cpus().length),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    kernel: release(),
    node: process.versions.node,
    node24: existsSync(bin("node")) ? versionOf(bin("node"), ["--version"], /v(\S+)/) : "absent",
    deno: existsSync(bin("deno")) ? versionOf(bin("deno"), ["-V"], /deno (\S+)/) : "absent",
    bun: existsSync(bin("bun")) ? versionOf(bin("bun"), ["-v"], /(\S+)/) : "absent",
    nginx: have("nginx") ? versionOf("nginx", ["-v"], /nginx\/(\S+)/) : "absent",
    haproxy: have("haproxy") ? versionOf("haproxy", ["-v"], /version (\S+)/) : "absent",
    wrk: have("wrk") ? versionOf("wrk", ["-v"], /wrk (\S+)/) : "absent",
    iperf: have("iperf") ? versionOf("iperf", ["-v"], /iperf version (\S+)/) : "absent",
  };
}

/**
 * Whether a scenario runs on a target: not direct where the backend cannot stand in for a
 * balancer, and only on the listeners the target serves (configs.ts, balancers.ts).
 */
function runsOn(d: Scenario, t: TargetName): boolean {
  if (t === "direct") return !d.needsBalancer && !d.noDirect;
  return listenersOf(t).includes(d.listener);
}

function estimateSeconds(o: Options): number {
  let total = 0;
  for (const s of o.scenarios) {
    const d = SCENARIO_DEFS[s];
    const targets = o.targets.filter((t) => runsOn(d, t));
    const per = d.needsBalancer ? d.overheadS + o.idleConns / 5000 : o.durationS + d.overheadS;
    total += targets.length * o.runs * per;
    if (o.warmup && !d.needsBalancer) total += targets.filter((t) => NEEDS_WARMUP.has(t)).length * (1 + d.overheadS);
  }
  return total;
}

async function main(): Promise<number> {
  const root = repoRoot();
  const o = options(root);
  setClockTicks(Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()));

  const listeners = [...new Set(o.scenarios.map((s) => SCENARIO_DEFS[s].listener))];
  const workloads = new Set(listeners.map((l) => BACKEND_OF[l]));
  const usesIperf = o.scenarios.includes("bulk1") || o.scenarios.includes("bulk4");
  const usesTls = listeners.includes("tls") || listeners.includes("tlsbulk");
  const needed = ["taskset", "gcc"];
  if (usesIperf) needed.push("iperf");
  if (workloads.has("http")) needed.push("wrk", "nginx");
  if (usesTls) needed.push("openssl");
  if (o.targets.includes("nginx") || o.targets.includes("nginx-w2")) needed.push("nginx");
  if (o.targets.includes("haproxy")) needed.push("haproxy");
  const missing = needed.filter((c) => !have(c));
  if (missing.length) throw new Error(`missing tools: ${missing.join(", ")} (test/bench/run.sh installs them)`);
  if (usesIperf && !/^2\./.test(versionOf("iperf", ["-v"], /iperf version (\S+)/))) {
    throw new Error("iperf must be iperf 2 (iperf3's control and data connections split across a round-robin balancer)");
  }
  // Not availableParallelism(): it counts only the CPUs this process may run on (taskset).
  if (cpus().length < 2) throw new Error("the bench pins the balancer and the load to different CPUs: it needs 2");
  for (const t of o.targets) {
    const need = t === "node" || t === "node24"
      ? "dist/js/src/main.node.js"
      : t === "binary" || t === "binary-w2"
      ? "dist/streamlb"
      : null;
    if (t === "binary-b" && !(o.binaryB && existsSync(o.binaryB))) {
      throw new Error(`binary-b needs --binary-b PATH to a streamlb binary (got ${o.binaryB ?? "none"})`);
    }
    if (need && !existsSync(join(root, need))) throw new Error(`${need} is missing: run \`npm run build\` first`);
  }

  const nofile = nofileLimit();
  const idleNeed = 2 * o.idleConns + 200;
  if (o.scenarios.includes("idle") && nofile < idleNeed) {
    throw new Error(`the idle scenario needs ${idleNeed} file descriptors, ulimit -n is ${nofile}: raise it or use --idle-conns`);
  }

  const tools = buildTools(root, log);
  const balancers = o.targets.filter((t) => t !== "direct");
  const ports = [
    ...[...workloads].flatMap((w) => BACKENDS[w]),
    ...balancers.flatMap((t) => Object.values(listenPorts(basePort(t)))),
  ];
  const busy = ports.filter(listening);
  if (busy.length) throw new Error(`ports already in use on 127.0.0.1: ${busy.join(", ")} (another bench running?)`);

  const info = machineInfo(root);
  const est = estimateSeconds(o);
  log(
    `streamlb bench: ${o.targets.join(", ")} × ${o.scenarios.join(", ")}; ${o.runs} run(s) of ${o.durationS} s; ` +
      `about ${Math.ceil(est / 60)} min`,
  );
  log(
    `machine: ${info["nproc"]} CPUs (${info["cpu"]}), node ${info["node"]}, node24 ${info["node24"]}, deno ${info["deno"]}, bun ${
      info["bun"]
    }, nginx ${info["nginx"]}, haproxy ${info["haproxy"]}`,
  );

  const dir = mkdtempSync(join(tmpdir(), "streamlb-bench-"));
  const results: Results = new Map();
  const started = Date.now();
  try {
    const backends = await startBackends(dir, workloads, tools);
    const cert = usesTls ? makeCertificate(dir) : { cert: "", key: "", pem: "" };
    const startOptions: StartOptions = { root, dir, nofile, listeners, cert, binaryB: o.binaryB };
    const procs = new Map<TargetName, Proc>();
    const launch = async (t: TargetName) => {
      const p = startBalancer(startOptions, t);
      procs.set(t, p);
      const workers = workersOf(t);
      const own = listeners.filter((l) => listenersOf(t).includes(l));
      const ports = listenPorts(basePort(t));
      const tcp = own.filter((l) => l !== "udp").map((l) => ports[l]);
      const udp = own.filter((l) => l === "udp").map((l) => ports[l]);
      await waitListening(p, tcp, 20_000, workers > 1 ? workers : 0, udp);
    };
    await Promise.all(balancers.map(launch));

    for (const s of o.scenarios) {
      const d = SCENARIO_DEFS[s];
      const targets = o.targets.filter((t) => runsOn(d, t));
      const byTarget = new Map<string, Sample[] | string>();
      results.set(s, byTarget);
      const portOf = (t: TargetName) => t === "direct" ? directPort(d.listener) : listenPorts(basePort(t))[d.listener];
      const runOnce = async (t: TargetName, durationS: number): Promise<Sample> => {
        const p = procs.get(t);
        for (const q of p ? [p, ...backends] : backends) {
          if (!running(q)) throw new Error(`${q.name} is no longer running: ${q.output().slice(-500)}`);
        }
        const pid = p?.pid ?? null;
        const tree = workersOf(t) > 1;
        const cpu0 = pid ? balancerCpu(pid, tree) : null;
        const t0 = performance.now();
        const ctx = { port: portOf(t), durationS, balancerPid: pid, balancerTree: tree, idleConns: o.idleConns, tools };
        const m = await d.measure(ctx);
        const wall = (performance.now() - t0) / 1000;
        if (!pid || !cpu0) return { ...m, cpuPct: null };
        // Per process: a worker started during the run counts from zero, one that ended is lost.
        const perProcess = [...balancerCpu(pid, tree)].map(([k, s]) => ((s - (cpu0.get(k) ?? 0)) / wall) * 100);
        const cpuPct = perProcess.reduce((a, b) => a + b, 0);
        return { ...m, cpuPct, ...(tree ? { processCpuPct: perProcess } : {}) };
      };
      if (o.warmup && !d.needsBalancer) {
        for (const t of targets) if (NEEDS_WARMUP.has(t)) await runOnce(t, 1).catch(() => undefined);
      }
      for (let r = 0; r < o.runs; r++) {
        for (const t of targets) {
          const prev = byTarget.get(t);
          if (typeof prev === "string") continue; // failed before: do not retry each round
          try {
            if (d.needsBalancer) {
              // Memory is measured on a fresh process: allocators and pools keep what earlier
              // scenarios (or runs) freed, which would hide the cost of new connections.
              await stop(procs.get(t)!);
              await launch(t);
              await sleep(500);
            }
            const sample = await runOnce(t, o.durationS);
            if (d.needsBalancer && d.listener === "udp") {
              // A UDP session outlives its client (until proxy_timeout): the held sessions'
              // upstream sockets would keep their ephemeral ports, and a few targets' worth
              // exhaust the range. A fresh balancer lets them go.
              await stop(procs.get(t)!);
              await launch(t);
            }
            byTarget.set(t, [...(prev ?? []), sample]);
            log(`  ${s} ${t} run ${r + 1}: ${fmtSample(sample, d.unit)}`);
          } catch (e) {
            const p = procs.get(t);
            // A balancer that died mid-run: what it said last is the reason, not the /proc miss.
            const died = p && !running(p) ? ` (${p.name} exited: ${p.output().slice(-800).trim() || "no output"})` : "";
            const why = (e instanceof Error ? e.message : String(e)) + died;
            byTarget.set(t, why);
            log(`  ${s} ${t} run ${r + 1}: FAILED ${why.slice(0, 1200)}`);
          }
        }
      }
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }

  const elapsed = (Date.now() - started) / 1000;
  const multi = o.targets.some((t) => workersOf(t) > 1)
    ? ` (-w2 targets: a master and 2 workers on CPUs ${BALANCER_CPU} and ${LOAD_CPU}, CPU and RSS summed over all their processes)`
    : "";
  const header = [
    `Date: ${info["date"]}; ${info["nproc"]} CPUs (${info["cpu"]}), Linux ${info["kernel"]}`,
    `Versions: node ${info["node"]}, node24 ${info["node24"]}, deno ${info["deno"]}, bun ${info["bun"]}, nginx ${
      info["nginx"]
    }, haproxy ${info["haproxy"]}, wrk ${info["wrk"]}, iperf ${info["iperf"]}`,
    `Method: balancer on CPU ${BALANCER_CPU}, load generators and backends on CPU ${LOAD_CPU}${multi}; ${o.runs} run(s) of ${o.durationS} s per cell, medians (ratio to nginx in parentheses; for KiB/conn and latency lower is better); ${o.idleConns} idle connections; took ${
      Math.round(elapsed)
    } s.`,
    ...(o.binaryB && o.targets.includes("binary-b") ? [`binary-b: ${o.binaryB} (binary: dist/streamlb)`] : []),
  ].join("\n");
  const report = `${header}\n\n## Summary\n\n${summaryTable(results, o.scenarios, o.targets)}\n\n## Details\n\n${
    detailTables(results, o.scenarios, o.targets)
  }\n`;
  process.stdout.write(`\n${report}`);
  mkdirSync(o.outDir, { recursive: true });
  const stamp = info["date"]!.replace(/[:]/g, "-");
  writeFileSync(join(o.outDir, `bench-${stamp}.md`), report);
  writeFileSync(
    join(o.outDir, `bench-${stamp}.json`),
    JSON.stringify(
      { info, options: o, results: Object.fromEntries([...results].map(([k, v]) => [k, Object.fromEntries(v)])) },
      null,
      2,
    ),
  );
  log(`report written to ${join(o.outDir, `bench-${stamp}.md`)} (and .json)`);
  const failed = [...results.values()].some((m) => [...m.values()].some((v) => typeof v === "string"));
  return failed ? 1 : 0;
}

/**
 * CPU seconds of a balancer by "pid start-time": its one process (what the 1-process targets
 * have always measured), or each process of a master's tree.
 */
function balancerCpu(pid: number, tree: boolean): Map<string, number> {
  return tree ? treeCpuSeconds(pid) : new Map([[String(pid), cpuSeconds(pid)]]);
}

function fmtSample(s: Sample, unit: string): string {
  const extras = Object.entries(s.extras)
    .map(([k, v]) => `${k}=${v.toFixed(2)}`)
    .join(" ");
  const each = s.processCpuPct ? ` (master+workers ${s.processCpuPct.map((c) => c.toFixed(0)).join("+")})` : "";
  const cpu = s.cpuPct === null ? "" : ` cpu=${s.cpuPct.toFixed(0)}%${each}`;
  return `${s.value.toFixed(2)} ${unit} ${extras}${cpu}${s.errors ? ` errors=${s.errors}` : ""}`;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// Whatever happens, stop everything we started (by PID) before leaving.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    log(`bench: ${sig}, stopping`);
    void stopAll().then(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    await stopAll();
    log(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  },
);
