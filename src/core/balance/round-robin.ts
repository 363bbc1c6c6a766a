// nginx's smooth weighted round robin (ngx_stream_upstream_get_round_robin_peer), step for
// step: weights 5,1,1 give a a b a c a a, and a failing peer's share recovers gradually.
import type { Peer, PeerGroup } from "../upstream.ts";
import type { PeerSelection } from "../peer-selection.ts";
import type { Picker } from "./types.ts";

export const roundRobin: Picker = {
  pick(sel) {
    return pickRoundRobin(sel);
  },
};

export function pickRoundRobin(sel: PeerSelection): Peer | null {
  const group = sel.group;
  const peer = group.single ? pickSingle(group) : pickSmooth(sel, group);
  if (peer) return sel.take(peer, group);

  const backup = sel.toBackup();
  if (backup) {
    const fromBackup = pickRoundRobin(sel);
    if (fromBackup) return fromBackup;
  }
  // Every peer failed: nginx marks them live again so the next session can recover at once.
  for (const p of group.peers) p.fails = 0;
  return null;
}

function pickSingle(group: PeerGroup): Peer | null {
  const peer = group.peers[0]!;
  return peer.down || peer.atMaxConns() ? null : peer;
}

/** ngx_stream_upstream_get_peer: the smooth weighted choice among usable, untried peers. */
export function pickSmooth(sel: PeerSelection, group: PeerGroup): Peer | null {
  const now = sel.upstream.clock();
  const tried = sel.tried;
  let best: Peer | null = null;
  let total = 0;
  for (const peer of group.peers) {
    if (tried[peer.index] || peer.down || peer.failedOut(now) || peer.atMaxConns()) continue;
    peer.currentWeight += peer.effectiveWeight;
    total += peer.effectiveWeight;
    peer.grow(now);
    if (best === null || peer.currentWeight > best.currentWeight) best = peer;
  }
  if (best === null) return null;
  tried[best.index] = 1;
  best.currentWeight -= total;
  if (now - best.checkedSec > best.failTimeoutSec) best.checkedSec = now;
  return best;
}
