// `hash KEY consistent bounded=C`: consistent hashing with bounded loads (Mirrokni, Thorup and
// Zadimoghaddam, 2017; Envoy's and HAProxy's hash_balance_factor). The key finds its point on
// nginx's ketama ring (ketama.ts) as plain `consistent` does; a server takes the session only
// while its live sessions stay within ceil(C × average), the average being weighted and
// counting this session. A full server passes the key on clockwise to the next server with
// room. While no server is full the choice is exactly ketama's, so keys move only when a
// server would otherwise run hot, and then only as far as the next server with room.
import type { Peer } from "../upstream.ts";
import type { PeerSelection } from "../peer-selection.ts";
import { crc32 } from "./crc32.ts";
import { findPoint, ringOf } from "./ketama.ts";
import type { VariableRegistry } from "../variables/registry.ts";
import { HashKey, KeyBuffer } from "./key.ts";
import type { PickContext, Picker } from "./types.ts";
import { pickRoundRobin } from "./round-robin.ts";

/** The load factor's spelling: a decimal number, 1 or more (1 = perfectly even). */
const FACTOR = /^[0-9]{1,4}(\.[0-9]{1,4})?$/;

/** `1.25` → 1.25; null for anything that is not a load factor of at least 1. */
export function parseBoundFactor(text: string): number | null {
  if (!FACTOR.test(text)) return null;
  const c = Number(text);
  return c >= 1 ? c : null;
}

export function boundFactorError(text: string): string {
  return `invalid load factor "${text}": bounded= takes a number of 1 or more, such as bounded=1.25`;
}

/**
 * The most live sessions `peer` may hold once this session is placed: ceil(C × total × w / W),
 * where total counts every live session of the group plus the new one and W is the weight of
 * the servers that may take it. Those capacities add up to at least total, so some server
 * always has room: the walk below always ends.
 */
export function capacity(factor: number, total: number, weight: number, eligibleWeight: number): number {
  // Rounded before the ceiling, so 1.25 × 8 is 10 and not 10.000000000000002 → 11.
  const exact = (factor * total * weight) / eligibleWeight;
  return Math.ceil(Math.round(exact * 1e6) / 1e6);
}

export class BoundedLoadPicker implements Picker {
  readonly key: HashKey;
  private readonly buffer = new KeyBuffer();
  /** Per pick: ring server ids already looked at (a server has many points). */
  private seen = new Uint8Array(0);

  constructor(
    key: string,
    readonly factor: number,
    registry?: VariableRegistry,
  ) {
    this.key = HashKey.compile(key, registry);
  }

  pick(sel: PeerSelection, ctx: PickContext): Peer | null {
    const group = sel.group;
    if (group.single) return pickRoundRobin(sel);
    const ring = ringOf(group);
    if (!sel.hashStarted) {
      // An empty key hashes like any other (to crc32 of nothing): the bound holds for every
      // session, where ketama would fall back to round robin.
      const key = this.buffer;
      this.key.evaluate(ctx, key);
      sel.hashStarted = true;
      sel.hashValue = findPoint(ring.hashes, crc32(key.bytes, 0, key.length));
    }

    const now = sel.upstream.clock();
    const peers = group.peers;
    const eligible = (i: number) => {
      const p = peers[i]!;
      return !sel.tried[i] && !p.down && !p.failedOut(now) && !p.atMaxConns();
    };
    let total = 1;
    let eligibleWeight = 0;
    for (let i = 0; i < peers.length; i++) {
      total += peers[i]!.conns;
      if (eligible(i)) eligibleWeight += peers[i]!.weight;
    }
    // Nothing may take it: round robin then finds nothing too and does nginx's "all failed".
    if (eligibleWeight === 0) return pickRoundRobin(sel);

    const npoints = ring.hashes.length;
    if (this.seen.length < peers.length) this.seen = new Uint8Array(peers.length);
    const seen = this.seen;
    seen.fill(0);
    let best = -1;
    for (let n = 0; n < npoints && best < 0; n++) {
      const server = ring.servers[(sel.hashValue + n) % npoints]!;
      if (seen[server]) continue;
      seen[server] = 1;
      // The peers written as this server (one unless an address repeats): the least loaded with room.
      for (let i = 0; i < peers.length; i++) {
        if (ring.peerServer[i] !== server || !eligible(i)) continue;
        const p = peers[i]!;
        if (p.conns >= capacity(this.factor, total, p.weight, eligibleWeight)) continue;
        if (best < 0 || p.conns * peers[best]!.weight < peers[best]!.conns * p.weight) best = i;
      }
    }
    if (best < 0) return pickRoundRobin(sel);
    const peer = peers[best]!;
    if (now - peer.checkedSec > peer.failTimeoutSec) peer.checkedSec = now;
    sel.tried[best] = 1;
    return sel.take(peer, group);
  }
}
