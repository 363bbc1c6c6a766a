// Listeners and upstreams of one running streamlb. apply() starts it and reloads it in place:
// listeners that stay are never closed (no refused connect during a reload), new ones open,
// removed ones close; upstreams keep each server's state by identity; live sessions finish
// on whatever they were using.
import { AcceptGuard } from "./accept-guard.ts";
import { AccessLogs } from "./access-log.ts";
import { createPicker } from "./balance/index.ts";
import { formatHostPort } from "./config/address.ts";
import { ConnectionBudget } from "./connections.ts";
import { systemReason } from "./errno.ts";
import { HealthMonitor, type HealthShare, primeHealth, systemHealthClock } from "./health.ts";
import type { Config } from "./config/model.ts";
import type { Logger } from "./log.ts";
import { AccessRules } from "./phases/access.ts";
import { compileRouteTls } from "./phases/ssl-setup.ts";
import type { ClientConnection, Listener, Runtime } from "./runtime.ts";
import { type Route, Session, type SessionOutcome } from "./session.ts";
import { ListenerStats } from "./stats.ts";
import { type Peer, Upstream, type UpstreamChange } from "./upstream.ts";

interface ListenerSlot {
  readonly key: string;
  readonly listener: Listener;
  /** Swapped on reload; the listener itself stays open. */
  route: Route;
  /** Lives as long as the listener, across reloads. */
  readonly stats: ListenerStats;
  /** Opened for sessions with TLS on either side (`listen … ssl`, proxy_ssl). */
  readonly tls: boolean;
}

/** One open listener, for status and metrics. */
export interface ListenerInfo extends BoundAddress {
  readonly upstream: string;
  readonly stats: ListenerStats;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** As configured (`*:8000`, `127.0.0.1:9000`). */
  readonly configured: string;
}

export interface BalancerWorkerOptions {
  readonly health: HealthShare;
}

export class Balancer {
  private readonly slots = new Map<string, ListenerSlot>();
  private upstreams = new Map<string, Upstream>();
  private readonly sessions = new Set<Session>();
  /** Pauses accepting while descriptors run out (null where the runtime cannot count them). */
  private readonly acceptGuard: AcceptGuard | null;
  private nextSessionId = 1;
  private config: Config | null = null;
  private onIdle: (() => void) | null = null;
  /** 1 after the first start, +1 for every applied reload. */
  generation = 0;
  private readonly accessLogs: AccessLogs;
  /** Active health checks; `sync(upstream)` after changing an upstream's servers outside apply(). */
  readonly health: HealthMonitor;
  /** worker_connections, for this process. */
  private readonly budget: ConnectionBudget;

  constructor(
    private readonly runtime: Runtime,
    private readonly logger: Logger,
    /** Set in a worker process: listen with SO_REUSEPORT and share health verdicts. */
    private readonly worker: BalancerWorkerOptions | null = null,
  ) {
    this.accessLogs = new AccessLogs(runtime, logger);
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
    return [...this.slots.values()].map((s) => ({
      host: s.listener.host,
      port: s.listener.port,
      configured: s.key,
      upstream: s.route.upstream.name,
      stats: s.stats,
    }));
  }

  /** `-s reopen`: the access logs too (the error log is the controller's). */
  reopenLogs(): Promise<void> {
    return this.accessLogs.reopen();
  }

  addresses(): BoundAddress[] {
    return [...this.slots.values()].map((s) => ({ host: s.listener.host, port: s.listener.port, configured: s.key }));
  }

  /**
   * Starts or reloads. Everything that can fail (opening new listeners) happens before any
   * state changes, so a failed apply leaves the running config untouched.
   */
  async apply(config: Config): Promise<void> {
    const upstreams = new Map<string, Upstream>();
    const fresh = new Set<string>();
    for (const [name, cfg] of config.stream.upstreams) {
      const existing = this.upstreams.get(name);
      if (existing) {
        upstreams.set(name, existing);
      } else {
        upstreams.set(name, primeHealth(new Upstream(cfg)));
        fresh.add(name);
      }
    }

    // Access log files open (and formats compile) before anything changes: a log that
    // cannot be opened fails the start or reload, as in nginx.
    const logs = await this.accessLogs.prepare(config);
    const wanted = new Map<string, Route>();
    for (const server of config.stream.servers) {
      const upstream = upstreams.get(server.proxyPass)!;
      const picker = createPicker(config.stream.upstreams.get(server.proxyPass)!.method);
      const accessLog = logs.forServer(server);
      const access = AccessRules.compile(server.access);
      // Certificates load now, on start and on every reload: a bad one keeps the running config.
      const tlsBySsl = new Map<boolean, Awaited<ReturnType<typeof compileRouteTls>>>();
      for (const l of server.listen) {
        const ssl = l.ssl === true;
        if (!tlsBySsl.has(ssl)) {
          tlsBySsl.set(
            ssl,
            await compileRouteTls(this.runtime, server, ssl).catch(async (e: unknown) => {
              await logs.abort();
              throw e;
            }),
          );
        }
        const key = formatHostPort(l.host ?? "*", l.port);
        const listenName = formatHostPort(l.host ?? "0.0.0.0", l.port);
        wanted.set(key, { server, upstream, picker, listenName, accessLog, access, tls: tlsBySsl.get(ssl) });
      }
    }

    // A listener whose sessions gain or lose TLS (either side) opens anew: on some runtimes
    // those take another kind of socket. The old one closes first, as it would if removed.
    for (const [key, route] of wanted) {
      const slot = this.slots.get(key);
      if (slot && slot.tls !== (route.tls != null)) {
        this.slots.delete(key);
        await slot.listener.close();
      }
    }

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
    await this.closeListeners();
    for (const s of this.sessions) s.abort();
    await this.accessLogs.close();
  }

  /**
   * Graceful stop: no new connections; live sessions may finish, for at most `graceMs`
   * (0 = as long as they take), then the rest are closed.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.health.stop();
    await this.drainSessions(graceMs);
    await this.accessLogs.close();
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
    const listen = route.server.listen.find((l) => formatHostPort(l.host ?? "*", l.port) === key)!;
    let slot: ListenerSlot | null = null;
    const listener = await this.runtime
      .listen(
        {
          host: listen.host,
          port: listen.port,
          noDelay: route.server.proxy.tcpNodelay,
          reusePort: this.worker !== null,
          ...(route.tls != null && { tls: true }),
        },
        (client) => this.accept(client, slot!),
      )
      .catch((err: unknown) => {
        throw new Error(`bind() to ${route.listenName} failed (${systemReason(err)})`);
      });
    slot = { key, listener, route, stats: new ListenerStats(), tls: route.tls != null };
    return slot;
  }

  private accept(client: ClientConnection, slot: ListenerSlot): void {
    // nginx takes a connection for every accepted socket; with none left it closes the client.
    if (!this.budget.take()) {
      this.budget.notEnough("", "");
      client.close();
      return;
    }
    const session = new Session(this.nextSessionId++, client, slot.route, this.runtime, this.logger, this.budget);
    this.sessions.add(session);
    this.acceptGuard?.afterAccept(this.sessions.size);
    slot.stats.started();
    // With an access log, the addresses are read now: a closed socket may no longer know them.
    const addresses = slot.route.accessLog
      ? {
        remoteAddress: client.remoteAddress,
        remotePort: client.remotePort,
        localAddress: client.localAddress,
        localPort: client.localPort,
      }
      : client;
    // One reaction for each outcome (not then/catch/finally): three promises fewer per session.
    session.run().then(
      (outcome) => {
        try {
          slot.route.accessLog?.log({ id: session.id, client: addresses, startMs: session.startMs, endMs: Date.now(), outcome });
        } catch (err) {
          this.sessionFailed(session, err);
        }
        this.ended(session, slot, outcome);
      },
      (err: unknown) => {
        this.sessionFailed(session, err);
        this.ended(session, slot, null);
      },
    );
  }

  /** The core never throws past a connection: log it, end this session only. */
  private sessionFailed(session: Session, err: unknown): void {
    this.logger.log("error", `*${session.id} session failed: ${err instanceof Error ? err.stack : String(err)}`);
    session.abort();
  }

  private ended(session: Session, slot: ListenerSlot, outcome: SessionOutcome | null): void {
    this.budget.release();
    slot.stats.finished(outcome);
    this.sessions.delete(session);
    if (this.sessions.size === 0) this.onIdle?.();
  }
}

function reloadSummary(
  generation: number,
  opened: string[],
  closed: string[],
  addedUpstreams: Set<string>,
  removedUpstreams: string[],
  changes: Map<string, UpstreamChange>,
): string {
  const parts = [`reconfigured (generation ${generation})`];
  if (opened.length) parts.push(`listening on ${opened.join(" ")}`);
  if (closed.length) parts.push(`stopped listening on ${closed.join(" ")}`);
  if (addedUpstreams.size) parts.push(`new upstreams ${[...addedUpstreams].join(" ")}`);
  if (removedUpstreams.length) parts.push(`removed upstreams ${removedUpstreams.join(" ")}`);
  for (const [name, c] of changes) {
    if (c.added.length || c.removed.length) {
      const detail = [...c.added.map((a) => `+${a}`), ...c.removed.map((a) => `-${a}`)].join(" ");
      parts.push(`upstream ${name}: ${detail}`);
    }
  }
  if (parts.length === 1) parts.push("no changes to listeners or servers");
  return parts.join("; ");
}
