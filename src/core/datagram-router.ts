// The datagrams of one UDP listener, sorted into sessions: nginx keys a session by the
// client's address:port on its listening socket (ngx_lookup_udp_connection). A datagram from
// a new client starts one, within worker_connections; one from a known client goes to it.
import type { ConnectionBudget } from "./connections.ts";
import { type DatagramClock, type DatagramHost, DatagramSession, systemDatagramClock } from "./datagram-session.ts";
import type { Logger } from "./log.ts";
import type { DatagramListener, Runtime } from "./runtime.ts";
import type { Route } from "./session.ts";
import type { SessionOutcome } from "./session-outcome.ts";

export interface DatagramRouterOptions {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly budget: ConnectionBudget;
  readonly clock?: DatagramClock;
  /** The route as of the running config (a reload swaps it; live sessions keep theirs). */
  route(): Route;
  nextId(): number;
  started(session: DatagramSession): void;
  ended(session: DatagramSession, outcome: SessionOutcome): void;
}

export class DatagramRouter implements DatagramHost {
  // Looked up per datagram, so by the client's port (a number: no key string to build and
  // hash) with the address compared after; a second client on a port already held (another
  // address) goes to `table`, keyed by both.
  private readonly byPort = new Map<number, DatagramSession>();
  private readonly table = new Map<string, DatagramSession>();
  /** Datagrams dropped: no connection left for a new client, or a socket that took no more. */
  readonly drops = { dropped: 0 };
  readonly runtime: Runtime;
  readonly budget: ConnectionBudget;
  readonly clock: DatagramClock;
  /** Set once the runtime bound the socket (the router must exist to receive). */
  listener!: DatagramListener;

  constructor(private readonly options: DatagramRouterOptions) {
    this.runtime = options.runtime;
    this.budget = options.budget;
    this.clock = options.clock ?? systemDatagramClock;
  }

  /** The server's error_log, else the main error logs (read at each use: a reload may change it). */
  get logger(): Logger {
    return this.options.route().errorLog ?? this.options.logger;
  }

  /** Sessions in the table now (those that still take datagrams). */
  get size(): number {
    return this.byPort.size + this.table.size;
  }

  /** The listener's callback: every datagram, whole, with its sender. */
  receive(data: Uint8Array, address: string, port: number): void {
    const held = this.byPort.get(port);
    if (held !== undefined && held.remoteAddress === address) return held.fromClient(data);
    const known = this.table.size === 0 ? undefined : this.table.get(`${address} ${port}`);
    if (known) return known.fromClient(data);
    // nginx takes a connection for the new client; with none left, the datagram is dropped.
    if (!this.budget.take()) {
      this.budget.notEnough("", "");
      this.drops.dropped++;
      return;
    }
    const session = new DatagramSession(this.options.nextId(), address, port, this.options.route(), this, this.drops);
    if (held === undefined) this.byPort.set(port, session);
    else this.table.set(`${address} ${port}`, session);
    this.options.started(session);
    session.start(data).catch((err: unknown) => {
      this.logger.log("error", `*${session.id} session failed: ${err instanceof Error ? err.stack : String(err)}`);
      session.abort();
    });
  }

  detach(session: DatagramSession): void {
    if (this.byPort.get(session.remotePort) === session) return void this.byPort.delete(session.remotePort);
    const key = `${session.remoteAddress} ${session.remotePort}`;
    if (this.table.get(key) === session) this.table.delete(key);
  }

  ended(session: DatagramSession, outcome: SessionOutcome): void {
    if (session.attached) {
      session.attached = false;
      this.detach(session);
    }
    this.budget.release();
    this.options.ended(session, outcome);
  }
}
