// The rows for the features that sit on the session's phases, each against the plain proxy's
// backends: new connections with a PROXY v1 header or a ClientHello routed by ssl_preread and
// map (beside the same client on the plain proxy, `conn`), UDP request/response and memory per
// UDP session, and TLS termination (full and resumed handshakes, bulk).
import { Buffer } from "node:buffer";
import { OPENSSL_TLS13_SNI_ALPN_HEX } from "../support/openssl-hellos.ts";
import { heldMemory } from "./held-memory.ts";
import { run } from "./procs.ts";
import { LOAD_CPU, type Measurement, type RunContext, type Scenario, type ScenarioName, timeout } from "./scenario-types.ts";

/** Connections in flight at once, as wrk -c64 in the newconn row. */
const CONN_CONCURRENCY = 64;
const PAYLOAD = 32; // conntool's request after the prefix
const PROXY_V1_HEX = Buffer.from("PROXY TCP4 192.0.2.1 192.0.2.2 51234 443\r\n").toString("hex");

/**
 * conntool: a new connection per request. `expect` is what the echo returns: the payload, and
 * the ClientHello too where the balancer forwards it (ssl_preread hands the upstream every byte
 * it read); a PROXY header is consumed by the balancer.
 */
function conns(prefixHex: string | null, forwardsPrefix: boolean): Scenario["measure"] {
  return async (ctx) => {
    const expect = PAYLOAD + (prefixHex && forwardsPrefix ? prefixHex.length / 2 : 0);
    const out = await run(
      "conntool",
      LOAD_CPU,
      [ctx.tools.conntool, String(ctx.port), String(ctx.durationS), String(CONN_CONCURRENCY), prefixHex ?? "-", String(expect)],
      timeout(ctx),
    );
    const r = JSON.parse(out.trim().split("\n").pop()!) as { rate: number; p50Us: number; p99Us: number; errors: number };
    return { value: r.rate, extras: { p50: r.p50Us / 1000, p99: r.p99Us / 1000 }, errors: r.errors };
  };
}

/** udptool flood: 64-byte datagrams answered by the UDP echo, `window` in flight per flow. */
function udpFlood(flows: number, window: number): Scenario["measure"] {
  return async (ctx) => {
    const out = await run(
      "udptool flood",
      LOAD_CPU,
      [ctx.tools.udptool, "flood", String(ctx.port), String(flows), String(ctx.durationS), "64", String(window)],
      timeout(ctx),
    );
    const r = JSON.parse(out.trim().split("\n").pop()!) as { rate: number; lost: number; errors: number };
    return { value: r.rate, extras: { lost: r.lost }, errors: r.errors };
  };
}

function tlsHandshakes(mode: "full" | "resume"): Scenario["measure"] {
  return async (ctx): Promise<Measurement> => {
    if (!ctx.tools.tlstool) throw new Error("tlstool is not built: install libssl-dev (test/bench/run.sh does)");
    const out = await run(
      "tlstool hs",
      LOAD_CPU,
      [ctx.tools.tlstool, "hs", String(ctx.port), String(ctx.durationS), "16", mode],
      timeout(ctx),
    );
    const r = JSON.parse(out.trim().split("\n").pop()!) as { handshakes: number; resumed: number; rate: number; errors: number };
    return { value: r.rate, extras: { resumedPct: r.handshakes ? (100 * r.resumed) / r.handshakes : 0 }, errors: r.errors };
  };
}

const tlsBulk: Scenario["measure"] = async (ctx) => {
  if (!ctx.tools.tlstool) throw new Error("tlstool is not built: install libssl-dev (test/bench/run.sh does)");
  const out = await run(
    "tlstool bulk",
    LOAD_CPU,
    [ctx.tools.tlstool, "bulk", String(ctx.port), String(ctx.durationS)],
    timeout(ctx),
  );
  const r = JSON.parse(out.trim().split("\n").pop()!) as { gbps: number; errors: number };
  return { value: r.gbps, extras: {}, errors: r.errors };
};

const latency = [
  { key: "p50", label: "p50", unit: "ms" },
  { key: "p99", label: "p99", unit: "ms" },
] as const;

export const FEATURE_SCENARIOS: Partial<Record<ScenarioName, Scenario>> = {
  conn: {
    name: "conn",
    title: "A new connection per 32 B echo, plain proxy (conntool, 64 in flight)",
    unit: "conn/s",
    higherIsBetter: true,
    listener: "echo",
    needsBalancer: false,
    extras: latency,
    overheadS: 0.2,
    measure: conns(null, false),
  },
  pp: {
    name: "pp",
    title: "A new connection per 32 B echo, each opened with a PROXY v1 header (listen … proxy_protocol)",
    unit: "conn/s",
    higherIsBetter: true,
    listener: "pp",
    needsBalancer: false,
    noDirect: true,
    extras: latency,
    overheadS: 0.2,
    measure: conns(PROXY_V1_HEX, false),
  },
  sni: {
    name: "sni",
    title: "A new connection per ClientHello + 32 B echo, routed by ssl_preread and a map of $ssl_preread_server_name",
    unit: "conn/s",
    higherIsBetter: true,
    listener: "sni",
    needsBalancer: false,
    noDirect: true,
    extras: latency,
    overheadS: 0.2,
    measure: conns(OPENSSL_TLS13_SNI_ALPN_HEX, true),
  },
  udp1: {
    name: "udp1",
    title: "64 B UDP datagrams answered, 1 flow (32 in flight)",
    unit: "dgram/s",
    higherIsBetter: true,
    listener: "udp",
    needsBalancer: false,
    extras: [{ key: "lost", label: "lost", unit: "dgrams" }],
    overheadS: 0.2,
    measure: udpFlood(1, 32),
  },
  udp200: {
    name: "udp200",
    title: "64 B UDP datagrams answered, 200 flows (1 in flight each)",
    unit: "dgram/s",
    higherIsBetter: true,
    listener: "udp",
    needsBalancer: false,
    extras: [{ key: "lost", label: "lost", unit: "dgrams" }],
    overheadS: 0.5,
    measure: udpFlood(200, 1),
  },
  udpmem: {
    name: "udpmem",
    title: "Memory per UDP session (RSS delta / sessions held, each with one answered datagram)",
    unit: "KiB/session",
    higherIsBetter: false,
    listener: "udp",
    needsBalancer: true,
    extras: [
      { key: "before", label: "RSS before", unit: "MiB" },
      { key: "during", label: "RSS held", unit: "MiB" },
    ],
    overheadS: 4,
    measure: heldMemory(
      "udptool hold",
      (ctx: RunContext) => [ctx.tools.udptool, "hold", String(ctx.port), String(ctx.idleConns)],
    ),
  },
  tlsfull: {
    name: "tlsfull",
    title: "Full TLS 1.3 handshakes, ECDSA P-256, + 32 B echo (tlstool, 16 in flight)",
    unit: "hs/s",
    higherIsBetter: true,
    listener: "tls",
    needsBalancer: false,
    noDirect: true,
    extras: [{ key: "resumedPct", label: "resumed", unit: "%" }],
    overheadS: 0.2,
    measure: tlsHandshakes("full"),
  },
  tlsresume: {
    name: "tlsresume",
    title: "Resumed TLS 1.3 handshakes (session tickets), + 32 B echo (tlstool, 16 in flight)",
    unit: "hs/s",
    higherIsBetter: true,
    listener: "tls",
    needsBalancer: false,
    noDirect: true,
    extras: [{ key: "resumedPct", label: "resumed", unit: "%" }],
    overheadS: 0.2,
    measure: tlsHandshakes("resume"),
  },
  tlsbulk: {
    name: "tlsbulk",
    title: "Bulk throughput through a TLS-terminating listener, 1 connection (tlstool bulk)",
    unit: "Gbit/s",
    higherIsBetter: true,
    listener: "tlsbulk",
    needsBalancer: false,
    noDirect: true,
    extras: [],
    overheadS: 0.3,
    measure: tlsBulk,
  },
};
