// One open listening socket of a running balancer, with the route its sessions follow and its
// stats; and how a UDP one is opened (its datagrams are sorted into sessions by client).
import type { ConnectionBudget } from "./connections.ts";
import { DatagramRouter } from "./datagram-router.ts";
import type { DatagramSession } from "./datagram-session.ts";
import { systemReason } from "./errno.ts";
import type { Logger } from "./log.ts";
import type { ClientConnection, DatagramListener, Listener, Runtime } from "./runtime.ts";
import type { Route, SessionOutcome, SessionOwner } from "./session.ts";
import { ListenerStats } from "./stats.ts";
import { listenKey } from "./config/model.ts";

export interface ListenerSlot {
  readonly key: string;
  /** Swapped when listening stops and starts again around a binary upgrade. */
  listener: Listener | DatagramListener;
  /** A UDP listener's session table; null for TCP. */
  readonly datagrams: DatagramRouter | null;
  /** Swapped on reload; the listener itself stays open. */
  route: Route;
  /** Lives as long as the listener, across reloads. */
  readonly stats: ListenerStats;
  /** Hears each TCP session's end; null for UDP, whose router reports its sessions itself. */
  readonly owner: SessionOwner | null;
}

/** One open listener, for status and metrics. */
export interface ListenerInfo extends BoundAddress {
  readonly upstream: string;
  readonly stats: ListenerStats;
  readonly protocol: "tcp" | "udp";
  /** UDP: sessions that still take datagrams, and datagrams dropped (no connection or socket room). */
  readonly udp?: { readonly sessions: number; readonly dropped: number };
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** As configured (`*:8000`, `127.0.0.1:9000`). */
  readonly configured: string;
}

/** The slot as status and metrics show it. */
export function listenerInfo(s: ListenerSlot): ListenerInfo {
  return {
    ...boundAddress(s),
    upstream: s.route.target?.upstream.name ?? s.route.server.proxyPass ?? "",
    stats: s.stats,
    protocol: s.datagrams ? "udp" : "tcp",
    ...(s.datagrams ? { udp: { sessions: s.datagrams.size, dropped: s.datagrams.drops.dropped } } : {}),
  };
}

export function boundAddress(s: ListenerSlot): BoundAddress {
  return { host: s.listener.host, port: s.listener.port, configured: s.key };
}

/** What opening a UDP listener needs from the balancer. */
export interface DatagramSlotDeps {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly budget: ConnectionBudget;
  nextId(): number;
  started(session: DatagramSession): void;
  finished(session: DatagramSession, slot: ListenerSlot, outcome: SessionOutcome | null): void;
}

export async function openDatagramSlot(
  key: string,
  route: Route,
  reusePort: boolean,
  deps: DatagramSlotDeps,
): Promise<ListenerSlot> {
  const listen = route.server.listen.find((l) => listenKey(l) === key)!;
  if (!deps.runtime.bindDatagram || !deps.runtime.connectDatagram) {
    throw new Error(`bind() to ${route.listenName} failed ("listen … udp" is not supported on ${deps.runtime.name})`);
  }
  let slot: ListenerSlot | null = null;
  const router = new DatagramRouter({
    runtime: deps.runtime,
    logger: deps.logger,
    budget: deps.budget,
    route: () => slot!.route,
    nextId: deps.nextId,
    started: (session) => {
      deps.started(session);
      slot!.stats.started();
    },
    ended: (session, outcome) => {
      try {
        session.route.accessLog?.log({
          id: session.id,
          client: session.logAddresses(),
          startMs: session.startMs,
          endMs: Date.now(),
          outcome,
          protocol: "UDP",
          variables: session.variables,
        });
      } catch (err) {
        deps.logger.log("error", `*${session.id} session failed: ${err instanceof Error ? err.stack : String(err)}`);
      }
      deps.finished(session, slot!, outcome);
    },
  });
  router.listener = await deps.runtime
    .bindDatagram(
      { host: listen.host, port: listen.port, reusePort, dropped: (n) => void (router.drops.dropped += n) },
      (data, address, port) => router.receive(data, address, port),
    )
    .catch((err: unknown) => {
      throw new Error(`bind() to ${route.listenName} failed (${systemReason(err)})`);
    });
  slot = { key, listener: router.listener, datagrams: router, route, stats: new ListenerStats(), owner: null };
  return slot;
}

/** Its clients speak TLS to it, or may once `pass` hands them to a `listen … ssl`. */
function takesTls(route: Route): boolean {
  return route.tls != null || route.upgradeable === true;
}

/**
 * Listeners whose sessions gain or lose TLS (either side) close, to open anew: on some
 * runtimes those take another kind of socket. The old one closes first, as if removed.
 */
export async function closeTlsChanged(slots: Map<string, ListenerSlot>, wanted: ReadonlyMap<string, Route>): Promise<void> {
  for (const [key, route] of wanted) {
    const slot = slots.get(key);
    if (slot && slot.datagrams === null && takesTls(slot.route) !== takesTls(route)) {
      slots.delete(key);
      await slot.listener.close();
    }
  }
}

/**
 * Listens for TCP (or a unix socket) on `key`: on the master's socket when this is a worker, or
 * on the old binary's during an upgrade; each is taken once, so a later reload binds afresh.
 */
export function listenStream(
  runtime: Runtime,
  key: string,
  route: Route,
  reusePort: boolean,
  onClient: (client: ClientConnection) => void,
): Promise<Listener> {
  const listen = route.server.listen.find((l) => listenKey(l) === key)!;
  const fd = runtime.processes?.takeInherited?.(key);
  return runtime
    .listen(
      {
        host: listen.host,
        port: listen.port,
        ...(listen.unixPath !== undefined && { unixPath: listen.unixPath }),
        noDelay: route.server.proxy.tcpNodelay,
        reusePort,
        ...(fd === undefined ? {} : { fd }),
        ...(takesTls(route) && { tls: true }),
      },
      onClient,
    )
    .catch((err: unknown) => {
      throw new Error(`bind() to ${route.listenName} failed (${systemReason(err)})`);
    });
}
