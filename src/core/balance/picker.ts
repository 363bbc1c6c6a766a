import type { BalanceMethod } from "../config/model.ts";
import type { Peer, PeerSelection } from "../upstream.ts";
import { roundRobin } from "./round-robin.ts";

/** What a balancing method may look at besides the peers (hash keys use it). */
export interface PickContext {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly serverAddress: string;
  readonly serverPort: number;
}

/** A balancing method: picks the next peer for one session, or null for "no live upstreams". */
export interface Picker {
  pick(selection: PeerSelection, context: PickContext): Peer | null;
}

export function createPicker(method: BalanceMethod): Picker {
  switch (method.kind) {
    case "round_robin":
      return roundRobin;
    default:
      throw new Error(`balancing method "${method.kind}" is not implemented yet`);
  }
}
