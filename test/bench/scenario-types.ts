// What a scenario is: one load-generator run against one listener, and what it measures.
import type { Listener } from "./configs.ts";

/** Load generators and backends run on this CPU; the balancer under test has CPU 0 to itself. */
export const LOAD_CPU = 1;

export type ScenarioName =
  | "bulk1"
  | "bulk4"
  | "keepalive"
  | "newconn"
  | "rtt1"
  | "rtt100"
  | "idle"
  | "conn"
  | "pp"
  | "sni"
  | "udp1"
  | "udp200"
  | "udpmem"
  | "tlsfull"
  | "tlsresume"
  | "tlsbulk";

/** The compiled load tools (C, built by the driver from test/bench/*.c). */
export interface Tools {
  readonly tcptool: string;
  readonly conntool: string;
  readonly udptool: string;
  /** Null when libssl-dev is missing: the TLS scenarios then fail with that reason. */
  readonly tlstool: string | null;
}

export interface RunContext {
  readonly port: number;
  readonly durationS: number;
  /** The balancer's PID, null for the direct connection. */
  readonly balancerPid: number | null;
  /** The balancer is a master with workers: its memory is that of all its processes. */
  readonly balancerTree: boolean;
  /** Connections (or UDP sessions) held for the memory scenarios. */
  readonly idleConns: number;
  readonly tools: Tools;
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
  readonly listener: Listener;
  /** Meaningless without a balancer (memory of the balancer): run on a fresh balancer each time. */
  readonly needsBalancer: boolean;
  /** The direct connection cannot stand in (the backend does not speak PROXY or TLS). */
  readonly noDirect?: boolean;
  readonly extras: readonly { key: string; label: string; unit: string }[];
  /** How long one run takes beyond its duration, for the time estimate. */
  readonly overheadS: number;
  measure(ctx: RunContext): Promise<Measurement>;
}

/** A load generator's run may take this long before it is stopped as hung. */
export const timeout = (ctx: RunContext) => (ctx.durationS + 30) * 1000;
