// nginx's `hash KEY consistent` (ngx_stream_upstream_update_chash and get_chash_peer), the
// Cache::Memcached::Fast ketama ring: 160 points per unit of weight, seeded from the server
// text as written, so nginx and streamlb agree on every key and a removed server moves only
// its own keys. Unusable servers pass the key on to the next point; 20 misses → round robin.
import type { Peer, PeerGroup } from "../upstream.ts";
import type { PeerSelection } from "../peer-selection.ts";
import { crc32, CRC32_INIT, crc32Final, crc32Update, crc32UpdateByte, crc32UpdateUint32LE } from "./crc32.ts";
import { HASH_MAX_TRIES } from "./hash.ts";
import type { VariableRegistry } from "../variables/registry.ts";
import { HashKey, KeyBuffer } from "./key.ts";
import type { PickContext, Picker } from "./types.ts";
import { pickRoundRobin } from "./round-robin.ts";

export const KETAMA_POINTS_PER_WEIGHT = 160;

/** The sorted, de-duplicated points of one upstream and the server text each belongs to. */
export interface KetamaRing {
  readonly hashes: Uint32Array;
  /** Per point: an id of the server text; peers written the same way share an id (and points). */
  readonly servers: Int32Array;
  /** Per peer (by position in the group): its server text id. */
  readonly peerServer: Int32Array;
}

/**
 * nginx's split of the `server` text: `unix:` paths have no port; otherwise the port is what
 * follows the last `:` when only digits follow it. Brackets stay: `[::1]:80` is `[::1]`, `80`.
 */
export function splitServer(server: string): { host: string; port: string } {
  if (server.length >= 5 && server.slice(0, 5).toLowerCase() === "unix:") return { host: server.slice(5), port: "" };
  for (let j = server.length - 1; j >= 0; j--) {
    const c = server.charCodeAt(j);
    if (c === 0x3a) return { host: server.slice(0, j), port: server.slice(j + 1) };
    if (c < 0x30 || c > 0x39) break;
  }
  return { host: server, port: "" };
}

/** The points one server contributes, in generation order: crc32(HOST \0 PORT PREV). */
export function serverPoints(server: string, weight: number): Uint32Array {
  const { host, port } = splitServer(server);
  const encoder = new TextEncoder();
  let base = crc32Update(CRC32_INIT, encoder.encode(host));
  base = crc32UpdateByte(base, 0);
  base = crc32Update(base, encoder.encode(port));
  const points = new Uint32Array(weight * KETAMA_POINTS_PER_WEIGHT);
  let prev = 0;
  for (let j = 0; j < points.length; j++) {
    prev = crc32Final(crc32UpdateUint32LE(base, prev));
    points[j] = prev;
  }
  return points;
}

export function buildRing(peers: readonly Peer[]): KetamaRing {
  const ids = new Map<string, number>();
  const peerServer = new Int32Array(peers.length);
  const hashes: number[] = [];
  const owners: number[] = [];
  for (let i = 0; i < peers.length; i++) {
    const peer = peers[i]!;
    let id = ids.get(peer.address);
    if (id === undefined) ids.set(peer.address, id = ids.size);
    peerServer[i] = id;
    for (const h of serverPoints(peer.address, peer.weight)) {
      hashes.push(h);
      owners.push(id);
    }
  }
  // Stable sort, then keep the first of equal hashes: with glibc's (merge) qsort nginx keeps
  // the point of the server written first.
  const order = hashes.map((_, i) => i).sort((a, b) => hashes[a]! - hashes[b]!);
  const outHashes: number[] = [];
  const outServers: number[] = [];
  for (const i of order) {
    if (outHashes.length && outHashes[outHashes.length - 1] === hashes[i]) continue;
    outHashes.push(hashes[i]!);
    outServers.push(owners[i]!);
  }
  return { hashes: Uint32Array.from(outHashes), servers: Int32Array.from(outServers), peerServer };
}

/** The first point >= hash (binary search); `hashes.length` when the key lies past the last point. */
export function findPoint(hashes: Uint32Array, hash: number): number {
  let i = 0;
  let j = hashes.length;
  while (i < j) {
    const k = (i + j) >>> 1;
    const h = hashes[k]!;
    if (hash > h) i = k + 1;
    else if (hash < h) j = k;
    else return k;
  }
  return i;
}

/**
 * One ring per upstream, built on first use and shared by every listener that balances over
 * it. A reload makes a new group, hence a new ring; sessions under way keep the old one.
 */
const rings = new WeakMap<PeerGroup, KetamaRing>();

export function ringOf(group: PeerGroup): KetamaRing {
  let ring = rings.get(group);
  if (!ring) rings.set(group, ring = buildRing(group.peers));
  return ring;
}

export class KetamaPicker implements Picker {
  readonly key: HashKey;
  private readonly buffer = new KeyBuffer();

  constructor(key: string, registry?: VariableRegistry) {
    this.key = HashKey.compile(key, registry);
  }

  pick(sel: PeerSelection, ctx: PickContext): Peer | null {
    const group = sel.group;
    if (sel.methodTries > HASH_MAX_TRIES || group.single) return pickRoundRobin(sel);
    const ring = ringOf(group);
    if (!sel.hashStarted) {
      // nginx evaluates the key and finds its point once per session (init_chash_peer).
      const key = this.buffer;
      this.key.evaluate(ctx, key);
      sel.hashStarted = true;
      // An empty key means round robin for the whole session, as if hashing had given up.
      sel.methodTries = key.length === 0 ? HASH_MAX_TRIES + 1 : 0;
      sel.hashValue = findPoint(ring.hashes, crc32(key.bytes, 0, key.length));
    }
    if (sel.methodTries > HASH_MAX_TRIES) return pickRoundRobin(sel);

    const now = sel.upstream.clock();
    const peers = group.peers;
    const tried = sel.tried;
    const npoints = ring.hashes.length;
    let best: Peer | null = null;
    let bestPos = 0;
    for (;;) {
      const server = ring.servers[sel.hashValue % npoints]!;
      // Smooth WRR among the peers written as this point's server (one unless a name repeats).
      let total = 0;
      for (let i = 0; i < peers.length; i++) {
        const peer = peers[i]!;
        if (tried[i] || peer.down || peer.failedOut(now) || peer.atMaxConns()) continue;
        if (ring.peerServer[i] !== server) continue;
        peer.currentWeight += peer.effectiveWeight;
        total += peer.effectiveWeight;
        peer.grow(now);
        if (best === null || peer.currentWeight > best.currentWeight) {
          best = peer;
          bestPos = i;
        }
      }
      if (best !== null) {
        best.currentWeight -= total;
        break;
      }
      sel.hashValue++;
      if (++sel.methodTries > HASH_MAX_TRIES) return pickRoundRobin(sel);
    }
    if (now - best.checkedSec > best.failTimeoutSec) best.checkedSec = now;
    tried[bestPos] = 1;
    return sel.take(best, group);
  }
}
