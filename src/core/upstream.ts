// Upstream peers and their passive-health state, as nginx's round-robin module keeps them
// (ngx_stream_upstream_round_robin.c): weights, connection counts, fails and the
// accessed/checked clock with nginx's one-second resolution.
import type { UpstreamConfig, UpstreamServerConfig } from "./config/model.ts";

export type Clock = () => number; // whole seconds, like ngx_time()

export const systemClock: Clock = () => Math.floor(Date.now() / 1000);

export class Peer {
  readonly weight: number;
  effectiveWeight: number;
  currentWeight = 0;
  conns = 0;
  fails = 0;
  accessedSec = 0;
  checkedSec = 0;
  readonly maxFails: number;
  readonly failTimeoutSec: number;
  readonly maxConns: number;
  down: boolean;

  constructor(
    readonly config: UpstreamServerConfig,
    /** Position in its group: the bit in a session's "tried" set. */
    readonly index: number,
  ) {
    this.weight = config.weight;
    this.effectiveWeight = config.weight;
    this.maxFails = config.maxFails;
    this.failTimeoutSec = Math.floor(config.failTimeoutMs / 1000);
    this.maxConns = config.maxConns;
    this.down = config.down;
  }

  get address(): string {
    return this.config.address;
  }

  /** Out for fail_timeout after max_fails failures (nginx: fails >= max_fails && now - checked <= fail_timeout). */
  failedOut(nowSec: number): boolean {
    return this.maxFails > 0 && this.fails >= this.maxFails && nowSec - this.checkedSec <= this.failTimeoutSec;
  }

  atMaxConns(): boolean {
    return this.maxConns > 0 && this.conns >= this.maxConns;
  }
}

export class PeerGroup {
  readonly single: boolean;
  constructor(
    readonly peers: readonly Peer[],
    readonly backup: boolean,
    hasBackupGroup: boolean,
  ) {
    // nginx treats a lone primary as "single" (never marked failed) only when no backups exist.
    this.single = peers.length === 1 && !backup && !hasBackupGroup;
  }
}

export class Upstream {
  readonly primary: PeerGroup;
  readonly backup: PeerGroup | null;
  /** nginx's default tries: every primary plus every backup address. */
  readonly tries: number;

  constructor(
    readonly config: UpstreamConfig,
    readonly clock: Clock = systemClock,
  ) {
    const primaries = config.servers.filter((s) => !s.backup);
    const backups = config.servers.filter((s) => s.backup);
    this.primary = new PeerGroup(
      primaries.map((s, i) => new Peer(s, i)),
      false,
      backups.length > 0,
    );
    this.backup = backups.length ? new PeerGroup(backups.map((s, i) => new Peer(s, i)), true, true) : null;
    this.tries = primaries.length + backups.length;
  }

  get name(): string {
    return this.config.name;
  }

  *allPeers(): Iterable<Peer> {
    yield* this.primary.peers;
    if (this.backup) yield* this.backup.peers;
  }
}

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
    return peer;
  }

  /** The backend accepted: a peer that was on probation is live again. */
  connected(): void {
    const peer = this.current;
    if (peer && !this.currentGroup.single && peer.accessedSec < peer.checkedSec) peer.fails = 0;
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
    if (this.tries) this.tries--;
    return disabled;
  }

  /** The session ended after a successful connect. */
  release(): void {
    const peer = this.current;
    if (!peer) return;
    this.current = null;
    peer.conns--;
    if (this.currentGroup.single) {
      this.tries = 0;
      return;
    }
    if (peer.accessedSec < peer.checkedSec) peer.fails = 0;
    if (this.tries) this.tries--;
  }
}
