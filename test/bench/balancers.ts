// The targets the bench measures, and how each one is started: nginx and HAProxy with their
// configs, streamlb under each runtime (and, for an A/B of two builds, a second binary given
// with --binary-b) with the same nginx config nginx reads.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HAPROXY_LISTENERS, haproxyCfg, type Listener, LISTENERS, PLAIN_LISTENERS, streamConf } from "./configs.ts";
import { type Cpus, type Proc, start } from "./procs.ts";
import { LOAD_CPU } from "./scenario-types.ts";
import { versionOf } from "./tools.ts";

export const BALANCER_CPU = 0;
// `node` is the Node that runs this driver (the machine's: run.sh picks it), `node24` the LTS that
// npm ci installs (the node devDependency), so one run compares the two. `binary-b` is any other
// streamlb binary (--binary-b PATH), run beside dist/streamlb for an A/B in one run.
export const ALL_TARGETS = [
  "direct",
  "nginx",
  "haproxy",
  "node",
  "node24",
  "deno",
  "bun",
  "binary",
  "nginx-w2",
  "binary-w2",
  "binary-b",
] as const;
export type TargetName = (typeof ALL_TARGETS)[number];
export const STREAMLB = new Set<TargetName>(["node", "node24", "deno", "bun", "binary", "binary-w2", "binary-b"]);
/**
 * Targets run as a master and this many workers. They may use both CPUs (the second worker
 * shares CPU 1 with the load), and their CPU and memory are summed over all their processes.
 * Every other target is one process on CPU 0, measured by its PID alone.
 */
const WORKERS: Partial<Record<TargetName, number>> = { "nginx-w2": 2, "binary-w2": 2 };
export const workersOf = (t: TargetName) => WORKERS[t] ?? 1;
const cpusOf = (t: TargetName): Cpus => (workersOf(t) > 1 ? [BALANCER_CPU, LOAD_CPU] : BALANCER_CPU);

/** Base port of each balancer: its listeners are base+1... (configs.ts listenPorts). */
export const basePort = (t: TargetName) => 8100 + 10 * ALL_TARGETS.indexOf(t);

/**
 * The listeners a target can serve: HAProxy proxies no UDP, and binary-b may be a build from
 * before the session phases (PROXY, ssl_preread, map, TLS, UDP), so it gets the plain proxy only,
 * unless BENCH_BINARY_B_FULL=1 says it is a recent build (an A/B of two builds that both have them).
 */
export function listenersOf(t: TargetName): readonly Listener[] {
  if (t === "haproxy") return HAPROXY_LISTENERS;
  if (t === "binary-b") return process.env["BENCH_BINARY_B_FULL"] === "1" ? LISTENERS : PLAIN_LISTENERS;
  return LISTENERS;
}

export interface StartOptions {
  readonly root: string;
  readonly dir: string;
  readonly nofile: number;
  /** The listeners this run's scenarios use (each target gets those it can serve). */
  readonly listeners: readonly Listener[];
  readonly cert: { cert: string; key: string; pem: string };
  readonly binaryB: string | null;
}

function streamlbCommand(o: StartOptions, target: TargetName, config: string): string[] {
  const { root } = o;
  switch (target) {
    case "node":
      return [process.execPath, join(root, "dist/js/src/main.node.js"), "-c", config];
    case "node24":
      return [join(root, "node_modules/.bin/node"), join(root, "dist/js/src/main.node.js"), "-c", config];
    case "deno":
      // Deno.listenDatagram (the UDP listener) is behind --unstable-net.
      return [join(root, "node_modules/.bin/deno"), "run", "-A", "--unstable-net", join(root, "src/main.deno.ts"), "-c", config];
    case "bun":
      return [join(root, "node_modules/.bin/bun"), join(root, "src/main.bun.ts"), "-c", config];
    case "binary":
    case "binary-w2":
      return [join(root, "dist/streamlb"), "-c", config];
    case "binary-b":
      if (!o.binaryB) throw new Error("binary-b needs --binary-b PATH (or BENCH_BINARY_B)");
      return [o.binaryB, "-c", config];
    default:
      throw new Error(`${target} is not a streamlb target`);
  }
}

export function nginxStreamModule(): string | null {
  const all = versionOf("nginx", ["-V"], /([^]*)/);
  if (!/--with-stream=dynamic/.test(all)) return null; // built in (or absent: nginx will say so)
  const dir = /--modules-path=(\S+)/.exec(all)?.[1] ?? "/usr/lib/nginx/modules";
  return join(dir, "ngx_stream_module.so");
}

export function startBalancer(o: StartOptions, target: TargetName): Proc {
  const workers = workersOf(target);
  const base = basePort(target);
  const listeners = o.listeners.filter((l) => listenersOf(target).includes(l));
  if (target === "haproxy") {
    const cfg = join(o.dir, "haproxy.cfg");
    // HAProxy needs about 2 fds per connection plus its own: keep maxconn inside the fd limit.
    writeFileSync(cfg, haproxyCfg(base, Math.floor((o.nofile - 100) / 2), o.cert.pem, listeners));
    return start("haproxy", BALANCER_CPU, ["haproxy", "-db", "-f", cfg]);
  }
  const nginx = target === "nginx" || target === "nginx-w2";
  const name = nginx ? (workers > 1 ? `nginx-lb-w${workers}` : "nginx-lb") : `streamlb-${target}`;
  const conf = join(o.dir, `${name}.conf`);
  writeFileSync(
    conf,
    streamConf({
      nginx,
      base,
      dir: o.dir,
      streamModule: nginx ? nginxStreamModule() : null,
      nofile: o.nofile,
      name,
      workers,
      listeners,
      cert: o.cert.cert,
      key: o.cert.key,
    }),
  );
  if (nginx) return start(target, cpusOf(target), ["nginx", "-p", o.dir, "-e", "stderr", "-c", conf]);
  return start(`streamlb on ${target}`, cpusOf(target), streamlbCommand(o, target, conf));
}
