// Upstreams built in memory for balancing unit tests (no sockets, any runtime).
import type { PickContext, Picker } from "../../src/core/balance/types.ts";
import { type BalanceMethod, type UpstreamConfig, type UpstreamServerConfig } from "../../src/core/config/model.ts";
import { DEFAULT_SERVER } from "../../src/core/config/schema/upstream-server.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";

const loc = { file: "test", line: 1, col: 1 };

export function server(address: string, extra: Partial<UpstreamServerConfig> = {}): UpstreamServerConfig {
  const colon = address.lastIndexOf(":");
  return {
    ...DEFAULT_SERVER,
    address,
    host: address.slice(0, colon),
    port: Number(address.slice(colon + 1)),
    loc,
    ...extra,
  };
}

export function upstream(
  servers: UpstreamServerConfig[],
  method: BalanceMethod = { kind: "round_robin" },
  clock: () => number = () => 1000,
): Upstream {
  const config: UpstreamConfig = { name: "u", method, servers, implicit: false, healthCheck: null, loc };
  return new Upstream(config, clock);
}

export function context(remoteAddress = "127.0.0.1", remotePort = 40000): PickContext {
  return { remoteAddress, remotePort, serverAddress: "127.0.0.1", serverPort: 8000 };
}

/** One session that connects at once and ends: pick, connected, release. */
export function session(up: Upstream, picker: Picker, ctx: PickContext = context()): string | null {
  const sel = new PeerSelection(up, 0);
  const peer = picker.pick(sel, ctx);
  if (!peer) return null;
  sel.connected();
  sel.release();
  return peer.address;
}

/** A session that connects and stays open: returns its selection, to release later. */
export function hold(up: Upstream, picker: Picker, ctx: PickContext = context()): PeerSelection {
  const sel = new PeerSelection(up, 0);
  if (!picker.pick(sel, ctx)) throw new Error("no live upstreams");
  sel.connected();
  return sel;
}
