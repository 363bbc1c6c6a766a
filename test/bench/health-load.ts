// Active health checks under load (issue 4): one upstream of 1,000 servers, every one checked
// every second for 30 s. Reports the balancer's CPU (utime+stime from /proc/PID/stat) and RSS
// each second, its open fds, the checks the servers saw, and on Node the timers the process
// holds (process.getActiveResourcesInfo(), printed by a preloaded module): the point is that
// CPU stays modest and nothing grows. Not part of the test suite; run from the repo root:
//   npm run build:js && node dist/js/test/bench/health-load.js [--target node|bun|deno|binary]
//     [--servers 1000] [--seconds 30] [--interval 1s] [--jitter 0s]
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePorts } from "../support/backends.ts";
import { command, type Target, tempDir } from "../support/streamlb.ts";
import { cpuSeconds, rssBytes, setClockTicks } from "./procs.ts";

const { values } = parseArgs({
  options: {
    target: { type: "string", default: "node" },
    servers: { type: "string", default: "1000" },
    seconds: { type: "string", default: "30" },
    interval: { type: "string", default: "1s" },
    jitter: { type: "string", default: "0s" },
  },
});
const target = values.target as Target;
const servers = Number(values.servers);
const seconds = Number(values.seconds);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

try {
  setClockTicks(Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()));
} catch {
  // 100, procs.ts's default
}

// The servers: loopback listeners that count the checks and hang up at once.
let checks = 0;
const listeners: net.Server[] = [];
for (let i = 0; i < servers; i++) {
  const server = net.createServer((s) => {
    checks++;
    s.on("error", () => undefined);
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  listeners.push(server);
}
const addresses = listeners.map((s) => `"127.0.0.1:${(s.address() as net.AddressInfo).port}"`);

const [port] = await freePorts(1);
const dir = tempDir();
const configFile = join(dir, "health-load.yaml");
writeFileSync(
  configFile,
  `error_log: { path: stderr, level: notice }
stream:
  upstreams:
    big:
      servers: [${addresses.join(", ")}]
      health_check: { interval: ${values.interval}, jitter: ${values.jitter}, timeout: 1s }
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: big }
`,
);

// On Node, a preloaded module reports the process's timers every second.
const [exe, ...args] = command(target);
if (target === "node") {
  const preload = join(dir, "timers.mjs");
  writeFileSync(
    preload,
    `setInterval(() => {
  const r = process.getActiveResourcesInfo();
  process.stderr.write("bench-timers " + r.filter((x) => x === "Timeout").length + "\\n");
}, 1000).unref();
`,
  );
  args.unshift("--import", preload);
}
const child = spawn(exe!, [...args, "-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
let stderr = "";
child.stderr!.on("data", (d: Buffer) => (stderr += d));
const pid = child.pid!;
for (let i = 0; !/listening on/.test(stderr); i++) {
  if (child.exitCode !== null || i > 400) throw new Error(`streamlb did not start: ${stderr}`);
  await sleep(50);
}

const lastTimers = () => {
  const all = [...stderr.matchAll(/bench-timers (\d+)/g)];
  return all.length ? Number(all[all.length - 1]![1]) : null;
};
const fds = () => readdirSync(`/proc/${pid}/fd`).length;

// Two seconds for the first round of checks, then one sample a second.
await sleep(2000);
console.log(`health-load: ${target}, ${servers} servers, interval ${values.interval}, jitter ${values.jitter}, ${seconds} s`);
console.log(" t(s)  cpu%   rss(MiB)  fds   checks/s  timers");
let cpu0 = cpuSeconds(pid);
let checks0 = checks;
const startCpu = cpu0;
const startChecks = checks0;
const started = Date.now();
const rss: number[] = [];
const fdCounts: number[] = [];
const timerCounts: number[] = [];
let t0 = Date.now();
for (let s = 1; s <= seconds; s++) {
  await sleep(1000 - ((Date.now() - started) % 1000));
  const now = Date.now();
  const cpu = cpuSeconds(pid);
  const r = rssBytes(pid) / 2 ** 20;
  const f = fds();
  const timers = lastTimers();
  rss.push(r);
  fdCounts.push(f);
  if (timers !== null) timerCounts.push(timers);
  const pct = ((cpu - cpu0) / ((now - t0) / 1000)) * 100;
  console.log(
    `${String(s).padStart(5)} ${pct.toFixed(1).padStart(5)} ${r.toFixed(1).padStart(9)} ${String(f).padStart(5)} ${
      String(
        checks - checks0,
      ).padStart(9)
    }  ${timers ?? "-"}`,
  );
  cpu0 = cpu;
  checks0 = checks;
  t0 = now;
}
const wall = (Date.now() - started) / 1000;
const cpuTotal = cpuSeconds(pid) - startCpu;
const downs = (stderr.match(/ is down: /g) ?? []).length;
const half = Math.floor(rss.length / 2);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `summary: cpu ${cpuTotal.toFixed(2)} s over ${wall.toFixed(1)} s = ${((cpuTotal / wall) * 100).toFixed(1)}% of one core; ` +
    `${((checks - startChecks) / wall).toFixed(0)} checks/s; ` +
    `rss ${rss[0]!.toFixed(1)} → ${rss[rss.length - 1]!.toFixed(1)} MiB (max ${Math.max(...rss).toFixed(1)}, ` +
    `first-half avg ${avg(rss.slice(0, half)).toFixed(1)}, second-half avg ${avg(rss.slice(half)).toFixed(1)}); ` +
    `fds ${Math.min(...fdCounts)}–${Math.max(...fdCounts)}; ` +
    (timerCounts.length ? `timers ${Math.min(...timerCounts)}–${Math.max(...timerCounts)}; ` : "") +
    `servers marked down: ${downs}`,
);

child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
await Promise.all(listeners.map((s) => new Promise((r) => s.close(r))));
