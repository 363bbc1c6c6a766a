// Active health checks (NGINX Plus's health_check, yaoweibin's check): every server of an
// upstream that has one is probed on its own schedule, and `fails` consecutive failures take
// it out of balancing (peer.health = "unhealthy", which every method skips as `down`) until
// `passes` consecutive passes bring it back.
//
// Cost: one timer per upstream, whatever its size. The timer wakes at the earliest due check
// and starts every check due within a few ms of it; a finished check only moves the timer
// earlier when it has to. The probe options are built once per upstream and shared, and the
// sockets are the runtime's (Runtime.probe). Nothing here touches the relay path.
//
// Reloads (Balancer.apply): servers are matched by identity as Upstream.update keeps them.
// New servers start in the initial state (mandatory: "unhealthy" until it passes, Plus's
// "checking"; otherwise "unchecked", which is usable). Servers that stay keep their health
// with `persistent`; without it they restart from the initial state, as NGINX Plus does.
// Every server is checked again within `jitter` of the reload.
import { type Config, type HealthCheckConfig } from "./config/model.ts";
import { DEFAULT_PROXY_SETTINGS } from "./config/schema/proxy.ts";
import { compileCheck, type CompiledCheck } from "./health-check-judge.ts";
import { probeDatagram } from "./health-udp-probe.ts";
import type { Logger } from "./log.ts";
import type { ConnectTarget, ProbeResult, Runtime } from "./runtime.ts";
import type { Peer, PeerGroup, Upstream } from "./upstream.ts";

/** Time and randomness, so the state machine can be tested with fake timers. */
export interface HealthClock {
  /** Epoch milliseconds. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** In [0, 1): the jitter. */
  random(): number;
}

export const systemHealthClock: HealthClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

/** The runtime part the checks need: TCP probes, and the datagram door for `health_check udp`. */
export type Prober = Pick<Runtime, "probe" | "connectDatagram" | "datagramUnreachable"> & { readonly name?: string };

/**
 * Called when checks mark a server down; returns how many live sessions it closed
 * (proxy_session_drop). The Balancer owns the sessions.
 */
export type OnServerDown = (peer: Peer, upstream: Upstream) => number;

/** Sets the initial health of a new upstream's servers before any listener can route to it. */
export function primeHealth(upstream: Upstream): Upstream {
  if (upstream.config.healthCheck?.mandatory) { for (const p of upstream.allPeers()) p.health = "unhealthy"; }
  return upstream;
}

/**
 * With worker processes, one process probes and the others follow its verdicts, so every
 * worker agrees on who is down (and a server is not probed N times per interval).
 */
export interface HealthShare {
  /** false: run no probes here; verdicts arrive through HealthMonitor.receive(). */
  readonly probes: boolean;
  /** A verdict changed here (in the probing process): tell the others. */
  publish(upstream: string, server: string, health: Peer["health"]): void;
}

/** Every upstream's checker, kept in step with the config by Balancer.apply. */
export class HealthMonitor {
  private readonly checkers = new Map<Upstream, UpstreamHealth>();

  constructor(
    private readonly prober: Prober,
    private readonly logger: Logger,
    private readonly onDown: OnServerDown,
    private readonly clock: HealthClock = systemHealthClock,
    private readonly share: HealthShare | null = null,
  ) {}

  /** A verdict from the probing process (this one only follows). */
  receive(upstreams: ReadonlyMap<string, Upstream>, name: string, server: string, health: Peer["health"]): void {
    if (!this.share || this.share.probes) return;
    const up = upstreams.get(name);
    const peer = up ? [...up.allPeers()].find((p) => p.address === server) : undefined;
    if (!up || !peer || peer.health === health) return;
    const was = peer.health;
    peer.health = health;
    if (health === "unhealthy") {
      peer.stats.unhealthyCount++;
      this.logger.log("info", `server ${server} of upstream ${name} is down (checked by worker 0)`);
      this.onDown(peer, up);
    } else if (was === "unhealthy") {
      peer.recovered(up.clock());
      this.logger.log("info", `server ${server} of upstream ${name} is up (checked by worker 0)`);
    }
  }

  /**
   * Throws, before anything changes, for a UDP check this runtime cannot run: without the
   * datagram door, or one that expects no reply where ICMP errors are never reported (it
   * would pass every server, dead or alive: fail closed instead).
   */
  check(config: Config): void {
    for (const [name, u] of config.stream.upstreams) {
      const h = u.healthCheck;
      if (!h?.udp) continue;
      if (!this.prober.connectDatagram) {
        throw new Error(`"health_check udp" of upstream "${name}" is not supported on ${this.prober.name ?? "this runtime"}`);
      }
      if (h.expect === null && this.prober.datagramUnreachable !== true) {
        throw new Error(
          `"health_check udp" of upstream "${name}" needs a match with "expect" on ${this.prober.name ?? "this runtime"}: ` +
            `it reports no ICMP port unreachable, so a check without a reply would pass every server`,
        );
      }
    }
  }

  /**
   * Starts, updates or stops the checks for a (re)loaded config. `upstreams` are the
   * Upstream objects the balancer runs now, already updated to `config`.
   */
  apply(upstreams: ReadonlyMap<string, Upstream>, config: Config): void {
    const live = new Set(upstreams.values());
    for (const [up, checker] of this.checkers) {
      if (!live.has(up)) {
        checker.stop();
        this.checkers.delete(up);
      }
    }
    for (const [name, up] of upstreams) {
      const check = up.config.healthCheck;
      const existing = this.checkers.get(up);
      if (!check) {
        if (existing) {
          // The check was removed: nothing will bring its verdicts back, so forget them.
          existing.stop();
          this.checkers.delete(up);
          for (const p of up.allPeers()) p.health = "unchecked";
        }
        continue;
      }
      const maxBytes = check.expect ? replyLimit(config, name) : 0;
      if (existing) {
        existing.update(check, maxBytes, true);
      } else {
        const checker = new UpstreamHealth(up, this.prober, this.logger, this.onDown, this.clock, this.share);
        this.checkers.set(up, checker);
        checker.update(check, maxBytes, false);
      }
    }
  }

  /**
   * Picks up servers added or removed outside a reload (the admin API edits an Upstream):
   * new ones start in the initial state and are checked at once, removed ones stop.
   */
  sync(upstream: Upstream): void {
    this.checkers.get(upstream)?.sync();
  }

  /** Stops every check: no timer is left, probes in flight are aborted. */
  stop(): void {
    for (const c of this.checkers.values()) c.stop();
    this.checkers.clear();
  }

  /** How many timers the checks hold (at most one per upstream), for tests and status. */
  get timers(): number {
    let n = 0;
    for (const c of this.checkers.values()) n += c.hasTimer ? 1 : 0;
    return n;
  }
}

/** proxy_buffer_size of the first server{} that proxy_passes to the upstream (the bytes examined). */
function replyLimit(config: Config, upstream: string): number {
  const server = config.stream.servers.find((s) => s.proxyPass === upstream);
  return server?.proxy.proxyBufferSize ?? DEFAULT_PROXY_SETTINGS.proxyBufferSize;
}

/** Where one server is in its schedule. */
type Phase = "waiting" | "probing" | "stopped";

class Entry {
  phase: Phase = "waiting";
  dueMs = 0;
  /** Consecutive passes and failures; one of them is always 0. */
  passes = 0;
  fails = 0;
  /** Started unhealthy by `mandatory` and not judged yet (Plus's "checking"). */
  checking = false;
  target: ConnectTarget;

  constructor(readonly peer: Peer) {
    this.target = peer.config;
  }
}

class UpstreamHealth {
  private compiled!: CompiledCheck;
  private readonly entries = new Map<Peer, Entry>();
  private readonly abort = new AbortController();
  private timer: unknown = null;
  private timerAtMs = Infinity;
  private stopped = false;
  /** The groups last reconciled: Upstream.update replaces them when servers change. */
  private primary: PeerGroup | null = null;
  private backup: PeerGroup | null = null;

  constructor(
    private readonly upstream: Upstream,
    private readonly prober: Prober,
    private readonly logger: Logger,
    private readonly onDown: OnServerDown,
    private readonly clock: HealthClock,
    private readonly share: HealthShare | null,
  ) {}

  get hasTimer(): boolean {
    return this.timer !== null;
  }

  /** A (re)load: new settings, the server set reconciled, every server checked again soon. */
  update(config: HealthCheckConfig, maxBytes: number, reload: boolean): void {
    this.compiled = compileCheck(config, maxBytes, this.abort.signal);
    this.reconcile(reload && !config.persistent, true);
  }

  /** The server set changed outside a reload: only new servers are checked at once. */
  sync(): void {
    if (!this.stopped) this.reconcile(false, false);
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
    this.abort.abort();
    for (const e of this.entries.values()) e.phase = "stopped";
    this.entries.clear();
  }

  private reconcile(resetKept: boolean, recheckAll: boolean): void {
    const { config } = this.compiled;
    const now = this.clock.now();
    const seen = new Set<Peer>();
    for (const peer of this.upstream.allPeers()) {
      seen.add(peer);
      let e = this.entries.get(peer);
      const fresh = !e;
      if (!e) {
        e = new Entry(peer);
        this.entries.set(peer, e);
      }
      if (fresh || resetKept) this.initial(e);
      // peer.config is replaced when a reload changes the server line.
      e.target = config.port === null ? peer.config : { host: peer.config.host, port: config.port };
      if (e.phase === "waiting" && (fresh || recheckAll)) e.dueMs = now + this.jitter();
    }
    for (const [peer, e] of this.entries) {
      if (!seen.has(peer)) {
        e.phase = "stopped"; // a probe in flight finds this and drops its result
        this.entries.delete(peer);
      }
    }
    this.primary = this.upstream.primary;
    this.backup = this.upstream.backup;
    this.disarm();
    this.arm();
  }

  private initial(e: Entry): void {
    e.passes = 0;
    e.fails = 0;
    e.checking = this.compiled.config.mandatory;
    e.peer.health = e.checking ? "unhealthy" : "unchecked";
  }

  private jitter(): number {
    const j = this.compiled.config.jitterMs;
    return j > 0 ? Math.floor(this.clock.random() * j) : 0;
  }

  /** Sets the timer for the earliest waiting check, unless it is already set early enough. */
  private arm(): void {
    // A follower keeps the entries (initial states on reload) but leaves probing to worker 0.
    if (this.stopped || (this.share && !this.share.probes)) return;
    let next = Infinity;
    for (const e of this.entries.values()) if (e.phase === "waiting" && e.dueMs < next) next = e.dueMs;
    this.armAt(next);
  }

  private armAt(atMs: number): void {
    if (atMs === Infinity || atMs >= this.timerAtMs) return;
    this.disarm();
    this.timerAtMs = atMs;
    this.timer = this.clock.setTimer(() => this.tick(), Math.max(0, atMs - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.timerAtMs = Infinity;
  }

  private tick(): void {
    this.timer = null;
    this.timerAtMs = Infinity;
    if (this.stopped) return;
    // Servers added or removed by the admin API since the last look.
    if (this.upstream.primary !== this.primary || this.upstream.backup !== this.backup) return this.sync();
    const horizon = this.clock.now() + this.compiled.slackMs;
    for (const e of this.entries.values()) if (e.phase === "waiting" && e.dueMs <= horizon) this.start(e);
    this.arm();
  }

  private start(e: Entry): void {
    const compiled = this.compiled;
    if (e.peer.configDown) {
      // `down` in the config: out anyway, and a check would only log noise.
      e.dueMs = this.clock.now() + compiled.config.intervalMs;
      return;
    }
    e.phase = "probing";
    const probe = compiled.config.udp && this.prober.connectDatagram
      ? probeDatagram(this.prober.connectDatagram.bind(this.prober), e.target, compiled.options, this.clock)
      : this.prober.probe(e.target, compiled.options);
    probe.then(
      (result) => this.finished(e, compiled, result),
      (err: unknown) => this.finished(e, compiled, { kind: "error", code: "EIO", detail: String(err) }),
    );
  }

  private finished(e: Entry, compiled: CompiledCheck, result: ProbeResult): void {
    if (e.phase !== "probing" || result.kind === "aborted") return; // removed or stopped meanwhile
    const now = this.clock.now();
    this.judged(e, compiled, compiled.judge(result), now);
    e.phase = "waiting";
    e.dueMs = now + this.compiled.config.intervalMs + this.jitter();
    this.armAt(e.dueMs);
  }

  /** The state machine: consecutive results against the fails/passes thresholds. */
  private judged(e: Entry, compiled: CompiledCheck, failure: string | null, now: number): void {
    const peer = e.peer;
    const before = peer.health;
    this.verdict(e, compiled, failure, now);
    if (peer.health !== before) this.share?.publish(this.upstream.name, peer.address, peer.health);
  }

  private verdict(e: Entry, compiled: CompiledCheck, failure: string | null, now: number): void {
    const peer = e.peer;
    const { fails, passes } = this.compiled.config;
    peer.stats.checks++;
    peer.lastCheck = { ok: failure === null, detail: failure ?? compiled.passDetail, atMs: now };
    if (failure === null) {
      e.fails = 0;
      e.passes++;
      if (peer.health === "unchecked") {
        peer.health = "healthy"; // usable already: confirmed, not a change to log
      } else if (peer.health === "unhealthy" && e.passes >= passes) {
        peer.health = "healthy";
        peer.recovered(this.upstream.clock());
        e.checking = false;
        this.logger.log("notice", `server ${peer.address} of upstream ${this.upstream.name} is up`);
      }
      return;
    }
    peer.stats.checkFailures++;
    e.passes = 0;
    e.fails++;
    const wasChecking = e.checking;
    e.checking = false;
    if (peer.health === "unhealthy" ? wasChecking : e.fails >= fails) {
      peer.health = "unhealthy";
      peer.stats.unhealthyCount++;
      this.logger.log("warn", `server ${peer.address} of upstream ${this.upstream.name} is down: ${failure}`);
      const dropped = this.onDown(peer, this.upstream);
      if (dropped > 0) {
        this.logger.log(
          "notice",
          `closed ${dropped} session(s) to server ${peer.address} of upstream ${this.upstream.name} (proxy_session_drop)`,
        );
      }
    }
  }
}
