// nginx's `random` and `random two [least_conn]` (ngx_stream_upstream_random_module): a
// weighted random server; with `two`, two distinct usable servers drawn that way and the one
// with fewer connections per weight kept (least_conn is the only way to compare). Unusable
// draws count as tries; after 20, or with fewer than two servers, it is round robin.
import type { Peer, PeerGroup } from "../upstream.ts";
import type { PeerSelection } from "../peer-selection.ts";
import type { Picker } from "./types.ts";
import { pickRoundRobin } from "./round-robin.ts";

/**
 * Where each peer's slots start on the 0..total_weight line (nginx's ranges), per group; a
 * reload makes new groups, so these never go stale for new sessions.
 */
interface Ranges {
  readonly starts: Float64Array;
  readonly total: number;
}

/** nginx draws at most this many times per session before falling back to round robin. */
const MAX_TRIES = 20;

const rangesByGroup = new WeakMap<PeerGroup, Ranges>();

function rangesOf(group: PeerGroup): Ranges {
  let r = rangesByGroup.get(group);
  if (!r) {
    const starts = new Float64Array(group.peers.length);
    let total = 0;
    for (let i = 0; i < group.peers.length; i++) {
      starts[i] = total;
      total += group.peers[i]!.weight;
    }
    rangesByGroup.set(group, r = { starts, total });
  }
  return r;
}

/** A uniform integer in [0, n): the source of randomness, replaceable in tests. */
export type RandomInt = (n: number) => number;

export const mathRandomInt: RandomInt = (n) => Math.floor(Math.random() * n);

/** ngx_stream_upstream_peek_random_peer: a weighted draw, by binary search over the ranges. */
function peek(ranges: Ranges, random: RandomInt): number {
  const x = random(ranges.total);
  let i = 0;
  let j = ranges.starts.length;
  while (j - i > 1) {
    const k = (i + j) >>> 1;
    if (x < ranges.starts[k]!) j = k;
    else i = k;
  }
  return i;
}

function usable(sel: PeerSelection, i: number, peer: Peer, nowSec: number): boolean {
  return !sel.tried[i] && !peer.down && !peer.failedOut(nowSec) && !peer.atMaxConns();
}

export class RandomPicker implements Picker {
  constructor(
    readonly two: boolean,
    private readonly random: RandomInt = mathRandomInt,
  ) {}

  pick(sel: PeerSelection): Peer | null {
    const group = sel.group;
    if (sel.methodTries > MAX_TRIES || group.peers.length < 2) return pickRoundRobin(sel);
    const now = sel.upstream.clock();
    const pos = this.two ? this.drawTwo(sel, group, now) : this.drawOne(sel, group, now);
    if (pos < 0) return pickRoundRobin(sel);
    const peer = group.peers[pos]!;
    if (now - peer.checkedSec > peer.failTimeoutSec) peer.checkedSec = now;
    sel.tried[pos] = 1;
    return sel.take(peer, group);
  }

  /** The chosen peer's position, or -1 when 20 draws found nothing usable. */
  private drawOne(sel: PeerSelection, group: PeerGroup, now: number): number {
    const ranges = rangesOf(group);
    for (;;) {
      const i = peek(ranges, this.random);
      if (usable(sel, i, group.peers[i]!, now)) return i;
      if (++sel.methodTries > MAX_TRIES) return -1;
    }
  }

  private drawTwo(sel: PeerSelection, group: PeerGroup, now: number): number {
    const ranges = rangesOf(group);
    let first = -1;
    for (;;) {
      const i = peek(ranges, this.random);
      const peer = group.peers[i]!;
      if (i !== first && usable(sel, i, peer, now)) {
        if (first >= 0) {
          // The second draw wins ties; the first wins only with strictly fewer conns/weight.
          const prev = group.peers[first]!;
          return peer.allConns * prev.weight > prev.allConns * peer.weight ? first : i;
        }
        first = i;
      }
      if (++sel.methodTries > MAX_TRIES) return -1;
    }
  }
}
