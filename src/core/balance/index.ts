import type { BalanceMethod } from "../config/model.ts";
import type { Peer, PeerSelection } from "../upstream.ts";
import { HashPicker } from "./hash.ts";
import { KetamaPicker } from "./ketama.ts";
import { leastConn } from "./least-conn.ts";
import { RandomPicker } from "./random.ts";
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
    case "least_conn":
      return leastConn;
    case "hash":
      // Each picker owns a scratch buffer for the key, so every route gets its own.
      return method.consistent ? new KetamaPicker(method.key) : new HashPicker(method.key);
    case "random":
      // `random two` compares by least_conn, the only comparison nginx knows.
      return new RandomPicker(method.two);
  }
}
