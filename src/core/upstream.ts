// Upstream peers and their passive-health state, as nginx's round-robin module keeps them
// (ngx_stream_upstream_round_robin.c): weights, connection counts, fails and the
// accessed/checked clock with nginx's one-second resolution.
import type { UpstreamConfig, UpstreamServerConfig } from "./config/model.ts";
import type { Connection } from "./runtime.ts";
import { type CheckOutcome, PeerStats } from "./peer-stats.ts";
import { expandResolved, type ResolvedAnswer } from "./upstream-resolved.ts";

export type Clock = () => number; // whole seconds, like ngx_time()

export const systemClock: Clock = () => Math.floor(Date.now() / 1000);

/** Active health of a server as its checks last judged it ("unchecked" before any check). */
export type HealthState = "unchecked" | "healthy" | "unhealthy";

/**
 * One server of an upstream. The object lives as long as the server stays in the config, so
 * a reload keeps its connection count, failures and weights (nginx resets them all).
 */
export class Peer {
  config: UpstreamServerConfig;
  /** Position in its group: the bit in a session's "tried" set. */
  index: number;
  weight: number;
  effectiveWeight: number;
  currentWeight = 0;
  /** Sessions this process has on it now (connecting or relaying). */
  conns = 0;
  /** The other worker processes' conns, as they last published them (0 in a lone process). */
  otherConns = 0;
  fails = 0;
  accessedSec = 0;
  checkedSec = 0;
  maxFails: number;
  failTimeoutSec: number;
  maxConns: number;
  /** `down` in the config (or set through the admin API, which edits the server line). */
  configDown: boolean;
  /** No new sessions; live ones finish (admin API `drain`). */
  draining = false;
  /** When (upstream clock, seconds) this server came back and began its slow_start ramp; 0 = not ramping. */
  recoveredAtSec = 0;
  /**
   * Set by active health checks; a server without checks stays "unchecked" and usable. A
   * `mandatory` check starts a server "unhealthy" until it passes (Plus's "checking").
   */
  health: HealthState = "unchecked";
  /** The last active health check; null before the first. */
  lastCheck: CheckOutcome | null = null;
  readonly stats = new PeerStats();
  /** Connections to this server being relayed now: their bytes are not in `stats` yet. */
  readonly live = new Set<Connection>();

  /** Bytes to and from this server: ended sessions' totals plus what live ones moved so far. */
  bytes(): { sent: number; received: number } {
    let sent = this.stats.bytesToServer;
    let received = this.stats.bytesFromServer;
    for (const c of this.live) {
      sent += c.bytesOut;
      received += c.bytesIn;
    }
    return { sent, received };
  }

  constructor(config: UpstreamServerConfig, index: number) {
    this.config = config;
    this.index = index;
    this.weight = config.weight;
    this.effectiveWeight = config.weight;
    this.maxFails = config.maxFails;
    this.failTimeoutSec = Math.floor(config.failTimeoutMs / 1000);
    this.maxConns = config.maxConns;
    this.configDown = config.down;
    this.draining = config.drain;
  }

  /**
   * Takes no new sessions for any reason other than passive failures: every balancing
   * method skips it exactly as nginx skips a `down` server.
   */
  get down(): boolean {
    return this.configDown || this.draining || this.health === "unhealthy";
  }

  /**
   * The server came back (its passive probe connected, or its active checks passed again):
   * with slow_start it restarts from weight 1 and ramps up (NGINX Plus).
   */
  recovered(nowSec: number): void {
    if (this.config.slowStartMs <= 0) return;
    this.recoveredAtSec = nowSec;
    this.effectiveWeight = 1;
  }

  /**
   * nginx's `if (effective_weight < weight) effective_weight++` on every pick it takes part
   * in, with the weight capped while slow_start ramps it up.
   */
  grow(nowSec: number): void {
    const cap = this.recoveredAtSec === 0 ? this.weight : this.weightCap(nowSec);
    if (this.effectiveWeight < cap) this.effectiveWeight++;
    else if (this.effectiveWeight > cap) this.effectiveWeight = cap;
  }

  /**
   * The most effective_weight may grow to now: the configured weight, or during slow_start
   * its share of the ramp (at least 1).
   */
  weightCap(nowSec: number): number {
    const elapsed = (nowSec - this.recoveredAtSec) * 1000;
    const ramp = this.config.slowStartMs;
    if (elapsed >= ramp) {
      this.recoveredAtSec = 0;
      return this.weight;
    }
    return Math.max(1, Math.floor((this.weight * elapsed) / ramp));
  }

  /** Takes a reloaded server line, keeping live state; a new weight restarts the smooth cycle. */
  reconfigure(config: UpstreamServerConfig, index: number): void {
    if (config.weight !== this.weight) {
      this.weight = config.weight;
      this.effectiveWeight = config.weight;
      this.currentWeight = 0;
    }
    this.config = config;
    this.index = index;
    this.maxFails = config.maxFails;
    this.failTimeoutSec = Math.floor(config.failTimeoutMs / 1000);
    this.maxConns = config.maxConns;
    this.configDown = config.down;
    this.draining = config.drain;
  }

  get address(): string {
    return this.config.address;
  }

  /** Out for fail_timeout after max_fails failures (nginx: fails >= max_fails && now - checked <= fail_timeout). */
  failedOut(nowSec: number): boolean {
    return this.maxFails > 0 && this.fails >= this.maxFails && nowSec - this.checkedSec <= this.failTimeoutSec;
  }

  /** Sessions on it over every worker process: what least_conn and max_conns weigh. */
  get allConns(): number {
    return this.conns + this.otherConns;
  }

  atMaxConns(): boolean {
    return this.maxConns > 0 && this.conns + this.otherConns >= this.maxConns;
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

/** What a reload changed in one upstream, for the reload's log line. */
export interface UpstreamChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly kept: number;
}

/**
 * Tells the other worker processes what changed in a peer (shared-peers.ts); null in a lone
 * process. nginx's `zone` shares the whole peer; we share what decides a pick.
 */
export interface PeerShare {
  /** This process's conns of the peer changed (called only where connsShared says they matter). */
  conns(upstream: Upstream, peer: Peer): void;
  /** A passive failure or recovery changed fails/accessed/checked. */
  passive(upstream: Upstream, peer: Peer): void;
}

export class Upstream {
  config!: UpstreamConfig;
  /** Set in a worker process. */
  share: PeerShare | null = null;
  /**
   * `share` when the counts decide picks here (least_conn, random two least_conn, max_conns),
   * else null: round robin and hash without max_conns send nothing per session.
   */
  connsShare: PeerShare | null = null;
  primary!: PeerGroup;
  backup!: PeerGroup | null;
  /**
   * nginx's default tries: every primary plus every backup address that is not `down` in the
   * config (ngx_stream_upstream_init_round_robin counts only those), so a down server is not a try.
   */
  tries!: number;
  /**
   * What the resolver last found for each `resolve` line (discovery.ts keeps it), as the
   * servers it makes of a line: a reload that changes the line's port or weight keeps the
   * answer and applies the new line to it. A line not in it stands for no server yet.
   */
  readonly resolved = new Map<string, ResolvedAnswer>();

  constructor(
    config: UpstreamConfig,
    readonly clock: Clock = systemClock,
  ) {
    this.update(config);
  }

  get name(): string {
    return this.config.name;
  }

  /**
   * Applies a (re)loaded config. Servers are matched by address as written (the n-th
   * occurrence of an address matches the n-th): a server that stays keeps its Peer and so its
   * state; sessions already running keep the peers and groups they picked from.
   */
  update(config: UpstreamConfig): UpstreamChange {
    const previous = new Map<string, Peer>();
    if (this.config) { for (const p of this.allPeers()) previous.set(identity(p.config, previous), p); }
    const seen = new Map<string, Peer>();
    const added: string[] = [];
    const build = (servers: UpstreamServerConfig[]) =>
      servers.map((s, i) => {
        const old = previous.get(identity(s, seen));
        let peer: Peer;
        if (old) {
          old.reconfigure(s, i);
          peer = old;
        } else {
          peer = new Peer(s, i);
          added.push(s.address);
        }
        seen.set(identity(s, seen), peer);
        return peer;
      });
    const servers = expandResolved(config, this.resolved);
    const primaries = build(servers.filter((s) => !s.backup));
    const backups = build(servers.filter((s) => s.backup));
    this.config = config;
    // A lone peer is "single" (never taken out by max_fails) while no backup has peers, also
    // when `resolve` made it so, as nginx's zone module re-decides after every answer.
    this.primary = new PeerGroup(primaries, false, backups.length > 0);
    this.backup = backups.length ? new PeerGroup(backups, true, true) : null;
    this.tries = servers.filter((s) => !s.down).length;
    this.connsShare = this.share && weighsConns(config) ? this.share : null;
    const removed = [...previous].filter(([key]) => !seen.has(key)).map(([, p]) => p.address);
    return { added, removed, kept: seen.size - added.length };
  }

  // Runtime changes (the admin API): each is the server list edited and applied as a reload
  // would apply it, so servers that stay keep their state and live sessions are untouched.

  /** Adds a server (it takes sessions at once, unless down or draining). */
  addServer(server: UpstreamServerConfig): UpstreamChange {
    return this.update({ ...this.config, servers: [...this.config.servers, server] });
  }

  /** Removes the first server with this address; its live sessions finish. Null if none has it. */
  removeServer(address: string): UpstreamChange | null {
    const i = this.config.servers.findIndex((s) => s.address === address);
    if (i < 0) return null;
    return this.update({ ...this.config, servers: this.config.servers.filter((_, j) => j !== i) });
  }

  /** Replaces the parameters of the first server with this address (weight, down, drain...). */
  replaceServer(address: string, server: UpstreamServerConfig): UpstreamChange | null {
    const i = this.config.servers.findIndex((s) => s.address === address);
    if (i < 0) return null;
    return this.update({ ...this.config, servers: this.config.servers.map((s, j) => (j === i ? server : s)) });
  }

  /** Joins the worker processes' shared state (before any session picks). */
  attach(share: PeerShare | null): void {
    this.share = share;
    this.connsShare = share && weighsConns(this.config) ? share : null;
  }

  *allPeers(): Iterable<Peer> {
    yield* this.primary.peers;
    if (this.backup) yield* this.backup.peers;
  }
}

/** Whether other workers' connection counts decide picks in this upstream. */
function weighsConns(config: UpstreamConfig): boolean {
  const m = config.method;
  // `random two` compares by least_conn whether or not it says so (the only method nginx has).
  if (m.kind === "least_conn" || (m.kind === "random" && m.two)) return true;
  return config.servers.some((s) => s.maxConns > 0);
}

/** `address#n` for the n-th line naming that address (nginx allows repeats). */
function identity(server: UpstreamServerConfig, taken: ReadonlyMap<string, unknown>): string {
  let n = 0;
  while (taken.has(`${server.address}#${n}`)) n++;
  return `${server.address}#${n}`;
}
