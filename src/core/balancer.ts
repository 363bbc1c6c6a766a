// Listeners and upstreams of one running streamlb. apply() starts it and reloads it in place:
// listeners that stay are never closed (no refused connect during a reload), new ones open,
// removed ones close; upstreams keep each server's state by identity; live sessions finish
// on whatever they were using.
import { AcceptGuard } from "./accept-guard.ts";
import { SessionLogs } from "./session-logs.ts";
import { Discovery, nameCacheFor } from "./discovery.ts";
import { ConnectionBudget } from "./connections.ts";
import { HealthMonitor, type HealthShare, primeHealth, systemHealthClock } from "./health.ts";
import { type Config, listenKey } from "./config/model.ts";
import type { DatagramSession } from "./datagram-session.ts";
import type { Logger } from "./log.ts";
import { withRouteTls } from "./phases/ssl-routes.ts";
import type { ClientConnection, Listener, Runtime } from "./runtime.ts";
import { type Route, Session, type SessionOutcome, type SessionOwner } from "./session.ts";
import type { PassHandover } from "./pass-content.ts";
import { LocalCounters, type SharedCounters } from "./shared-counters.ts";
import { type PeerShareMessage, SharedPeers } from "./shared-peers.ts";
import { ListenerStats } from "./stats.ts";
import { listenAgain, stopListening } from "./handover.ts";
import { buildRoutes } from "./routes.ts";
import { compileStreamVariables } from "./variables/stream-variables.ts";
import { NGINX_COMPATIBLE } from "../version.ts";
import { type Peer, Upstream, type UpstreamChange } from "./upstream.ts";
import {
  type BoundAddress,
  boundAddress,
  closeTlsChanged,
  type ListenerInfo,
  listenerInfo,
  type ListenerSlot,
  listenStream,
  openDatagramSlot,
} from "./listener-slot.ts";
import { reloadSummary } from "./reload-summary.ts";

export type { BoundAddress, ListenerInfo } from "./listener-slot.ts";

export interface BalancerWorkerOptions {
  readonly health: HealthShare;
  /** Sends this worker's peer state to the others (through the master). */
  readonly sharePeers?: (message: PeerShareMessage) => void;
  /** Counters held across every worker (the master's table). */
  readonly counters?: SharedCounters;
}

export class Balancer {
  private readonly slots = new Map<string, ListenerSlot>();
  private upstreams = new Map<string, Upstream>();
  private readonly sessions = new Set<Session | DatagramSession>();
  /** Pauses accepting while descriptors run out (null where the runtime cannot count them). */
  private readonly acceptGuard: AcceptGuard | null;
  private nextSessionId = 1;
  private config: Config | null = null;
  private onIdle: (() => void) | null = null;
  /** 1 after the first start, +1 for every applied reload. */
  generation = 0;
  private readonly sessionLogs: SessionLogs;
  /** Active health checks; `sync(upstream)` after changing an upstream's servers outside apply(). */
  readonly health: HealthMonitor;
  /** worker_connections, for this process. */
  private readonly budget: ConnectionBudget;
  /** For limits that hold over every worker (limit_conn): the master's table, or this process's. */
  readonly counters: SharedCounters;
  /** The peer state shared with the other workers; null in a lone process. */
  private readonly sharedPeers: SharedPeers | null;
  /** Looks `resolve` servers up again as their TTLs run out. */
  private readonly discovery: Discovery;

  constructor(
    private readonly runtime: Runtime,
    private readonly logger: Logger,
    /** Set in a worker process: listen with SO_REUSEPORT and share health verdicts. */
    private readonly worker: BalancerWorkerOptions | null = null,
  ) {
    this.sessionLogs = new SessionLogs(runtime, logger);
    // A worker holds one more socket than a lone process: its channel to the master.
    this.budget = new ConnectionBudget(logger, worker !== null);
    this.acceptGuard = runtime.fds
      ? new AcceptGuard(runtime.fds, logger, () => [...this.slots.values()].map((s) => s.listener))
      : null;
    this.health = new HealthMonitor(
      runtime,
      logger,
      (peer) => this.dropSessions(peer),
      systemHealthClock,
      worker?.health ?? null,
    );
    this.counters = worker?.counters ?? new LocalCounters();
    this.sharedPeers = worker?.sharePeers ? new SharedPeers(worker.sharePeers, () => this.upstreams.values()) : null;
    this.discovery = new Discovery(runtime.dnsExchange?.bind(runtime) ?? null, logger, (u) => this.health.sync(u));
  }

  /** Another worker's peer state, passed on by the master. */
  receivePeers(message: PeerShareMessage): void {
    this.sharedPeers?.receive(message);
  }

  /** A health verdict from the worker that runs the checks. */
  receiveHealth(upstream: string, server: string, health: "healthy" | "unhealthy" | "unchecked"): void {
    this.health.receive(this.upstreams, upstream, server, health);
  }

  get current(): Config | null {
    return this.config;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  upstream(name: string): Upstream | undefined {
    return this.upstreams.get(name);
  }

  /** Every upstream, in config order (implicit ones included). */
  upstreamList(): Upstream[] {
    return [...this.upstreams.values()];
  }

  listeners(): ListenerInfo[] {
    return [...this.slots.values()].map(listenerInfo);
  }

  /** `-s reopen`: the servers' access and error logs (the main error logs are the controller's). */
  reopenLogs(): Promise<void> {
    return this.sessionLogs.reopen();
  }

  addresses(): BoundAddress[] {
    return [...this.slots.values()].map(boundAddress);
  }

  /** Starts or reloads; what can fail happens before any state changes (a failed apply changes nothing). */
  async apply(config: Config): Promise<void> {
    this.discovery.check(config);
    this.health.check(config);
    const upstreams = new Map<string, Upstream>();
    const fresh = new Set<string>();
    for (const [name, cfg] of config.stream.upstreams) {
      const existing = this.upstreams.get(name);
      if (existing) {
        upstreams.set(name, existing);
      } else {
        const upstream = primeHealth(new Upstream(cfg));
        upstream.attach(this.sharedPeers);
        upstreams.set(name, upstream);
        fresh.add(name);
      }
    }

    // Access log files open (and formats compile) before anything changes: a log that
    // cannot be opened fails the start or reload, as in nginx.
    const variables = compileStreamVariables(config.stream, {
      hostname: (this.runtime.hostname ?? "localhost").toLowerCase(),
      pid: this.runtime.pid,
      nginxVersion: NGINX_COMPATIBLE,
    });
    const logs = await this.sessionLogs.prepare(config, variables.registry);
    // Certificates load now, on start and on every reload: a bad one keeps the running config.
    const routes = buildRoutes(config, upstreams, variables, logs, nameCacheFor(config, this.runtime), this.counters);
    const abort = (e: unknown) => logs.abort().then(() => Promise.reject(e));
    const wanted = await withRouteTls(this.runtime, routes, this.logger).catch(abort);
    await closeTlsChanged(this.slots, wanted);

    const opened: ListenerSlot[] = [];
    try {
      for (const [key, route] of wanted) {
        if (!this.slots.has(key)) opened.push(await this.open(key, route));
      }
    } catch (err) {
      await Promise.all(opened.map((s) => s.listener.close()));
      await logs.abort();
      throw err;
    }

    // Nothing can fail from here on.
    const changes = new Map<string, UpstreamChange>();
    for (const [name, up] of upstreams) {
      if (!fresh.has(name)) changes.set(name, up.update(config.stream.upstreams.get(name)!));
    }
    this.discovery.apply(upstreams, config);
    // Right after the update: a new mandatory server must not take a session before its check.
    this.health.apply(upstreams, config);
    for (const slot of opened) this.slots.set(slot.key, slot);
    const closed: string[] = [];
    for (const [key, slot] of this.slots) {
      const route = wanted.get(key);
      if (route) {
        slot.route = route;
      } else {
        this.slots.delete(key);
        closed.push(key);
        await slot.listener.close();
      }
    }
    this.budget.configure(config.workerConnections, this.slots.size);
    const removedUpstreams = [...this.upstreams.keys()].filter((n) => !upstreams.has(n));
    this.upstreams = upstreams;
    this.sharedPeers?.applied();
    this.config = config;
    this.generation++;
    await logs.commit();
    if (this.generation > 1) {
      this.logger.log(
        "notice",
        reloadSummary(this.generation, opened.map((s) => s.key), closed, fresh, removedUpstreams, changes),
      );
    }
  }

  /** Stops listening and ends every live session at once. */
  async close(): Promise<void> {
    this.health.stop();
    this.discovery.stop();
    await this.closeListeners();
    for (const s of this.sessions) s.abort();
    await this.sessionLogs.close();
  }

  /** Graceful stop: no new connections; live sessions may finish within `graceMs` (0 = no limit). */
  async shutdown(graceMs: number): Promise<void> {
    this.health.stop();
    this.discovery.stop();
    await this.drainSessions(graceMs);
    await this.sessionLogs.close();
  }

  private async drainSessions(graceMs: number): Promise<void> {
    await this.closeListeners();
    if (this.sessions.size === 0) return;
    this.logger.log("notice", `gracefully shutting down, ${this.sessions.size} active session(s)`);
    const idle = new Promise<void>((resolve) => (this.onIdle = resolve));
    if (graceMs <= 0) return idle;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), graceMs)));
    const outcome = await Promise.race([idle, expired]);
    clearTimeout(timer);
    if (outcome === "expired") {
      this.logger.log("notice", `shutdown timeout: closing ${this.sessions.size} active session(s)`);
      for (const s of this.sessions) s.abort();
    }
  }

  /**
   * Ends the live sessions to `peer` of every server{} with proxy_session_drop on (NGINX
   * Plus); returns how many. Health checks call it when they mark the server down.
   */
  dropSessions(peer: Peer): number {
    let dropped = 0;
    for (const s of this.sessions) {
      if (s.peer === peer && s.route.server.proxy.proxySessionDrop) {
        s.abort();
        dropped++;
      }
    }
    return dropped;
  }

  private async closeListeners(): Promise<void> {
    this.acceptGuard?.stop();
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((s) => s.listener.close()));
  }

  private async open(key: string, route: Route): Promise<ListenerSlot> {
    const listen = route.server.listen.find((l) => listenKey(l) === key)!;
    if (listen.udp) return this.openDatagram(key, route, listen.reusePort === true);
    let slot: ListenerSlot | null = null;
    const listener = await this.listen(key, route, (client) => this.accept(client, slot!));
    const owner = this.sessionOwner(() => slot!);
    slot = { key, listener, datagrams: null, route, stats: new ListenerStats(), owner };
    return slot;
  }

  private listen(key: string, route: Route, onClient: (client: ClientConnection) => void): Promise<Listener> {
    const reusePort = this.worker !== null || this.runtime.processes?.upgradeBy === "SO_REUSEPORT";
    return listenStream(this.runtime, key, route, reusePort, onClient);
  }

  /** `listen … udp`: one socket, and a session table that sorts its datagrams by client. */
  private openDatagram(key: string, route: Route, reusePort: boolean): Promise<ListenerSlot> {
    return openDatagramSlot(key, route, reusePort || this.worker !== null, {
      runtime: this.runtime,
      logger: this.logger,
      budget: this.budget,
      nextId: () => this.nextSessionId++,
      started: (session) => this.sessions.add(session),
      finished: (session, slot, outcome) => this.finished(session, slot, outcome),
    });
  }

  /** The listening sockets, by listen key, for a binary upgrade to pass on. */
  listenerFds(): { key: string; fd: number | undefined }[] {
    return this.streamSlots().map((s) => ({ key: s.key, fd: s.listener.fd }));
  }

  /** The TCP listeners: a binary upgrade hands over and pauses these (UDP ones rebind). */
  private streamSlots(): (ListenerSlot & { listener: Listener })[] {
    return [...this.slots.values()].filter((s): s is ListenerSlot & { listener: Listener } => s.datagrams === null);
  }

  /** WINCH after a binary upgrade: take no more connections; the sessions here go on. */
  stopAccepting(): Promise<void> {
    this.acceptGuard?.stop();
    return stopListening(this.streamSlots());
  }

  /** Rollback (HUP after WINCH), or the new binary ended: listen again on every address. */
  resumeAccepting(): Promise<void> {
    return listenAgain(
      this.streamSlots(),
      (slot) => this.listen(slot.key, slot.route, (c) => this.accept(c, slot)),
      this.logger,
    );
  }

  private accept(client: ClientConnection, slot: ListenerSlot): void {
    // nginx takes a connection for every accepted socket; with none left it closes the client.
    if (!this.budget.take()) {
      this.budget.notEnough("", "");
      client.close();
      return;
    }
    this.serve(new Session(this.nextSessionId++, client, slot.route, this.runtime, this.logger, this.budget), slot);
  }

  /** A session of `slot`'s, on a connection just accepted or handed on by `pass` (its own budget kept). */
  private serve(session: Session, slot: ListenerSlot): void {
    this.sessions.add(session);
    this.acceptGuard?.afterAccept(this.sessions.size);
    slot.stats.started();
    // SNI may choose another server of the address, whose access log then writes the line.
    if (slot.route.accessLog || slot.route.virtual) session.keepAddressesForLog();
    session.start(slot.owner!);
  }

  /** Hears the end of every session of `slot`: one object per listener, no closure per session. */
  private sessionOwner(slot: () => ListenerSlot): SessionOwner {
    return {
      sessionEnded: (session, outcome) => {
        const s = slot();
        if (outcome.passed) return this.passed(session, s, outcome.passed);
        try {
          session.route.accessLog?.log(session.record(outcome));
        } catch (err) {
          this.sessionFailed(session, err);
        }
        this.ended(session, s, outcome);
      },
      sessionFailed: (session, err) => {
        this.sessionFailed(session, err);
        this.ended(session, slot(), null);
      },
    };
  }

  /** `pass`: the session ends unlogged; the connection starts over on the listener it named. */
  private passed(session: Session, slot: ListenerSlot, to: PassHandover): void {
    const next = this.slots.get(to.key);
    if (next && next.datagrams === null) {
      this.serve(new Session(session.id, to.carry.client, next.route, this.runtime, this.logger, this.budget, to.carry), next);
    } else {
      // Closed by a reload since the session's config was read: as nginx finds no such port.
      session.logClientError("error", `port not found for "${to.name}" while passing connection to port`);
      for (const release of to.carry.releases ?? []) release();
      to.carry.client.close();
      this.budget.release();
    }
    // After the next session is counted: a drain must not see the connection gone meanwhile.
    this.finished(session, slot, null);
  }

  /** The core never throws past a connection: log it, end this session only. */
  private sessionFailed(session: Session, err: unknown): void {
    this.logger.log("error", `*${session.id} session failed: ${err instanceof Error ? err.stack : String(err)}`);
    session.abort();
  }

  private ended(session: Session, slot: ListenerSlot, outcome: SessionOutcome | null): void {
    this.budget.release();
    this.finished(session, slot, outcome);
  }

  /** A TCP or UDP session is over (its client's connection is already given back). */
  private finished(session: Session | DatagramSession, slot: ListenerSlot, outcome: SessionOutcome | null): void {
    slot.stats.finished(outcome);
    this.sessions.delete(session);
    if (this.sessions.size === 0) this.onIdle?.();
  }
}
