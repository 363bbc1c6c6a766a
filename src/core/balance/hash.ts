// nginx's `hash KEY` (ngx_stream_upstream_get_hash_peer), Cache::Memcached compatible, so a
// fleet of nginx and streamlb sends one key to one backend: the running hash grows by
// (crc32([n] KEY) >> 16) & 0x7fff per try and picks by weight; an unusable pick rehashes
// (n = 1, 2, ...); after 20 misses, or with one server or an empty key, it is round robin.
import type { Peer, PeerGroup } from "../upstream.ts";
import type { PeerSelection } from "../peer-selection.ts";
import { CRC32_INIT, crc32Final, crc32Update, crc32UpdateDecimal } from "./crc32.ts";
import type { VariableRegistry } from "../variables/registry.ts";
import { HashKey, KeyBuffer } from "./key.ts";
import type { PickContext, Picker } from "./types.ts";
import { pickRoundRobin } from "./round-robin.ts";

/** nginx gives up hashing after this many unusable picks in one session. */
export const HASH_MAX_TRIES = 20;

export class HashPicker implements Picker {
  readonly key: HashKey;
  /** Reused by every pick: the key's bytes for the connection being balanced. */
  private readonly buffer = new KeyBuffer();

  constructor(key: string, registry?: VariableRegistry) {
    this.key = HashKey.compile(key, registry);
  }

  pick(sel: PeerSelection, ctx: PickContext): Peer | null {
    const group = sel.group;
    if (sel.methodTries > HASH_MAX_TRIES || group.single) return pickRoundRobin(sel);
    const key = this.buffer;
    this.key.evaluate(ctx, key);
    if (key.length === 0) return pickRoundRobin(sel);

    const now = sel.upstream.clock();
    const peers = group.peers;
    const totalWeight = groupWeight(group);
    let peer: Peer;
    let p: number;
    for (;;) {
      let h = CRC32_INIT;
      if (sel.hashRehash > 0) h = crc32UpdateDecimal(h, sel.hashRehash);
      h = crc32Final(crc32Update(h, key.bytes, 0, key.length));
      sel.hashValue = (sel.hashValue + ((h >>> 16) & 0x7fff)) >>> 0;
      sel.hashRehash++;

      // Walk the servers in config order, each owning `weight` slots (down ones included).
      let w = sel.hashValue % totalWeight;
      p = 0;
      while (w >= peers[p]!.weight) w -= peers[p++]!.weight;
      peer = peers[p]!;

      if (!sel.tried[p] && !peer.down && !peer.failedOut(now) && !peer.atMaxConns()) break;
      if (++sel.methodTries > HASH_MAX_TRIES) return pickRoundRobin(sel);
    }
    if (now - peer.checkedSec > peer.failTimeoutSec) peer.checkedSec = now;
    sel.tried[p] = 1;
    return sel.take(peer, group);
  }
}

/**
 * nginx's peers->total_weight: configured weights of every primary, down or not. A reload
 * makes new groups, so caching per group never serves stale weights to new sessions.
 */
const weights = new WeakMap<PeerGroup, number>();

export function groupWeight(group: PeerGroup): number {
  let total = weights.get(group);
  if (total === undefined) {
    total = 0;
    for (const p of group.peers) total += p.weight;
    weights.set(group, total);
  }
  return total;
}
