// One session's walk through an upstream's peers: the tried set, retries left, and the
// passive-health bookkeeping nginx does when a try fails or a session ends
// (ngx_stream_upstream_free_round_robin_peer).
import type { Peer, PeerGroup, Upstream } from "./upstream.ts";

/** One session's walk through an upstream's peers (nginx's per-request rr peer data). */
export class PeerSelection {
  group: PeerGroup;
  /** Peers of `group` already tried by this session. */
  tried: Uint8Array;
  current: Peer | null = null;
  currentGroup: PeerGroup;
  tries: number;
  /**
   * hash and random keep state across one session's retries (nginx's hp->tries, hp->rehash,
   * hp->hash): picks made so far by the method, after 20 of which it falls back to round robin.
   */
  methodTries = 0;
  /** hash: the rehash counter (crc32 of `n ‖ key`). */
  hashRehash = 0;
  /** hash: the running sum; ketama: the ring position. */
  hashValue = 0;
  /** ketama: the key was looked up on the ring (nginx does it once, when the session starts). */
  hashStarted = false;

  constructor(
    readonly upstream: Upstream,
    triesLimit: number,
  ) {
    this.group = upstream.primary;
    this.currentGroup = upstream.primary;
    this.tried = new Uint8Array(Math.max(upstream.primary.peers.length, upstream.backup?.peers.length ?? 0));
    this.tries = triesLimit > 0 && upstream.tries > triesLimit ? triesLimit : upstream.tries;
  }

  /** Switches to the backup group: nginx resets the tried set when it does. */
  toBackup(): PeerGroup | null {
    const backup = this.upstream.backup;
    if (!backup || this.group === backup) return null;
    this.group = backup;
    this.tried.fill(0);
    return backup;
  }

  /** Records the chosen peer: it counts a connection from now on. */
  take(peer: Peer, group: PeerGroup): Peer {
    this.current = peer;
    this.currentGroup = group;
    peer.conns++;
    this.upstream.connsShare?.conns(this.upstream, peer);
    return peer;
  }

  /** The backend accepted: a peer that was on probation is live again. */
  connected(): void {
    const peer = this.current;
    if (peer && !this.currentGroup.single && peer.accessedSec < peer.checkedSec) revive(this.upstream, peer);
  }

  /**
   * A connect error or timeout (the only events nginx counts). Returns true when this
   * failure took the peer out ("upstream server temporarily disabled").
   */
  failed(): boolean {
    const peer = this.current;
    if (!peer) return false;
    this.current = null;
    peer.conns--;
    this.upstream.connsShare?.conns(this.upstream, peer);
    if (this.currentGroup.single) {
      this.tries = 0;
      return false;
    }
    const now = this.upstream.clock();
    peer.fails++;
    peer.accessedSec = now;
    peer.checkedSec = now;
    let disabled = false;
    if (peer.maxFails) {
      peer.effectiveWeight -= Math.floor(peer.weight / peer.maxFails);
      disabled = peer.fails >= peer.maxFails;
    }
    if (peer.effectiveWeight < 0) peer.effectiveWeight = 0;
    this.upstream.share?.passive(this.upstream, peer);
    if (this.tries) this.tries--;
    return disabled;
  }

  /** The session ended after a successful connect. */
  release(): void {
    const peer = this.current;
    if (!peer) return;
    this.current = null;
    const single = this.currentGroup.single;
    releasePeer(this.upstream, peer, single);
    if (single) this.tries = 0;
    else if (this.tries) this.tries--;
  }
}

/**
 * The end of a connected session, as `PeerSelection.release()` does it, for a session that
 * dropped its selection once connected (an idle session then keeps no selection alive).
 */
export function releasePeer(upstream: Upstream, peer: Peer, single: boolean): void {
  peer.conns--;
  upstream.connsShare?.conns(upstream, peer);
  if (!single && peer.accessedSec < peer.checkedSec) revive(upstream, peer);
}

/** nginx's "mark peer live if check passed"; a peer that max_fails had taken out came back. */
function revive(upstream: Upstream, peer: Peer): void {
  if (peer.fails === 0) return; // nginx zeroes it here after every pick that set `checked`
  if (peer.maxFails > 0 && peer.fails >= peer.maxFails) peer.recovered(upstream.clock());
  peer.fails = 0;
  // Rare (only after a failure), so told at once: the others stop counting it out too.
  upstream.share?.passive(upstream, peer);
}
