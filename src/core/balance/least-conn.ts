// nginx's least_conn (ngx_stream_upstream_get_least_conn_peer), step for step: the fewest
// connections per unit of weight wins, ties go to smooth WRR among the tied peers, then the
// backups, then "all failed: mark them live". A lone server is plain round robin.
import type { Peer, PeerGroup } from "../upstream.ts";
import type { PeerSelection } from "../peer-selection.ts";
import type { Picker } from "./types.ts";
import { pickRoundRobin } from "./round-robin.ts";

export const leastConn: Picker = {
  pick(sel) {
    return pickLeastConn(sel);
  },
};

function pickLeastConn(sel: PeerSelection): Peer | null {
  const group = sel.group;
  if (group.single) return pickRoundRobin(sel);
  const peer = pickFromGroup(sel, group);
  if (peer) return sel.take(peer, group);

  const backup = sel.toBackup();
  if (backup) {
    const fromBackup = pickLeastConn(sel);
    if (fromBackup) return fromBackup;
  }
  // Every peer failed: nginx marks them live again so the next session can recover at once.
  for (const p of group.peers) p.fails = 0;
  return null;
}

function usable(peer: Peer, nowSec: number): boolean {
  return !peer.failedOut(nowSec) && !peer.atMaxConns();
}

function pickFromGroup(sel: PeerSelection, group: PeerGroup): Peer | null {
  const now = sel.upstream.clock();
  const tried = sel.tried;
  const peers = group.peers;
  let best: Peer | null = null;
  let bestPos = 0;
  let many = false;

  // Pass 1: the least conns/weight, compared by cross-multiplying as nginx does.
  for (let i = 0; i < peers.length; i++) {
    const peer = peers[i]!;
    if (tried[i] || peer.down || !usable(peer, now)) continue;
    if (best === null || peer.allConns * best.weight < best.allConns * peer.weight) {
      best = peer;
      bestPos = i;
      many = false;
    } else if (peer.allConns * best.weight === best.allConns * peer.weight) {
      many = true;
    }
  }
  if (best === null) return null;

  // Pass 2, only on a tie: smooth WRR among the tied peers, from the first of them on.
  let total = 0;
  if (many) {
    for (let i = bestPos; i < peers.length; i++) {
      const peer = peers[i]!;
      if (tried[i] || peer.down) continue;
      if (peer.allConns * best.weight !== best.allConns * peer.weight) continue;
      if (!usable(peer, now)) continue;
      peer.currentWeight += peer.effectiveWeight;
      total += peer.effectiveWeight;
      peer.grow(now);
      if (peer.currentWeight > best.currentWeight) {
        best = peer;
        bestPos = i;
      }
    }
  }
  best.currentWeight -= total;
  if (now - best.checkedSec > best.failTimeoutSec) best.checkedSec = now;
  tried[bestPos] = 1;
  return best;
}
