// What a UDP session is to the rest of the core: its counters and tries, and the faces it
// shows to the phase pipeline, the variables and the balancing methods (the same ones a TCP
// session shows in session.ts). datagram-session.ts moves the datagrams.
import type { ConnectionBudget } from "./connections.ts";
import type { Logger } from "./log.ts";
import type { PhaseSession } from "./phases/phase.ts";
import type { ClientConnection, DatagramListener, RelayEnd, Runtime } from "./runtime.ts";
import type { Route } from "./session.ts";
import type { SessionOutcome, SessionStatus } from "./session-outcome.ts";
import type { Peer } from "./upstream.ts";
import type { UpstreamTry } from "./variables/context.ts";
import { outcomeTries } from "./variables/record-context.ts";
import { SessionBase } from "./session-base.ts";

/** Timers, injected so unit tests can fire proxy_timeout without waiting for it. */
export interface DatagramClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemDatagramClock: DatagramClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Datagrams a session holds while its upstream socket opens; more are dropped, as a full socket would. */
export const PENDING_DATAGRAMS = 64;

/** What a session needs from the listener it belongs to. */
export interface DatagramHost {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly budget: ConnectionBudget;
  readonly clock: DatagramClock;
  readonly listener: DatagramListener;
  /** proxy_requests was reached: the client's next datagram starts a new session. */
  detach(session: DatagramSessionState): void;
  ended(session: DatagramSessionState, outcome: SessionOutcome): void;
}

/** Counters for status: datagrams that a full socket refused. */
export interface DropCounter {
  dropped: number;
}

export abstract class DatagramSessionState extends SessionBase implements PhaseSession {
  readonly protocol = "UDP";
  readonly realip = null;
  readonly startMs: number;
  /** The server this session sends to, once its socket is open (status, session drop). */
  peer: Peer | null = null;
  /** Client datagrams taken ($bytes_received counts their bytes), and replies from upstream. */
  requests = 0;
  responses = 0;
  /** Replies that reached the client socket. */
  sentToClient = 0;
  bytesFromClient = 0;
  bytesToClient = 0;
  bytesFromUpstream = 0;
  bytesToUpstream = 0;
  /** In the listener's table (false once proxy_requests is reached or the session ended). */
  attached = true;

  constructor(
    id: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
    route: Route,
    protected readonly host: DatagramHost,
  ) {
    super(id, route);
    this.startMs = host.clock.now();
  }

  get serverAddress(): string {
    return this.host.listener.host;
  }
  get serverPort(): number {
    return this.host.listener.port;
  }

  // --- what phases and variables read (the phase pipeline of session.ts, for datagrams) ---

  get logger(): Logger {
    return this.host.logger;
  }
  /** Phases that read the client (PROXY protocol, preread) never run on UDP listeners. */
  get client(): ClientConnection {
    throw new Error("a UDP session has no client stream to read");
  }
  now(): number {
    return this.host.clock.now();
  }
  bytesSent(): number {
    return this.bytesToClient;
  }
  bytesReceived(): number {
    return this.bytesFromClient;
  }
  upstreamTries(): readonly UpstreamTry[] {
    return outcomeTries(this.outcome(200));
  }
  ssl(): string | null {
    return null;
  }
  setRealip(): void {
    // realip acts on a PROXY header, which UDP listeners never read.
  }
  keepEarlyData(): void {
    // only PROXY and preread keep early data; neither runs on UDP.
  }
  useTls(): void {
    // nginx refuses `listen … udp ssl`: no ssl phase runs on UDP.
  }
  takeEarlyData(): null {
    return null;
  }
  logClientError(level: "error" | "warn" | "info" | "notice", message: string): void {
    if (this.host.logger.enabled(level)) this.host.logger.log(level, `*${this.id} ${message}${this.context()}`);
  }

  /** The addresses an access log line names (the listener's, as nginx's $server_addr says). */
  logAddresses(): { remoteAddress: string; remotePort: number; localAddress: string; localPort: number } {
    return {
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      localAddress: this.serverAddress,
      localPort: this.serverPort,
    };
  }

  protected outcome(status: SessionStatus, end?: RelayEnd): SessionOutcome {
    return {
      status,
      upstreamAddrs: this.tried,
      upstreamConnectMs: this.connectMs,
      upstreamSessionMs: this.tryMs,
      relay: {
        end: end ?? (status === 502 ? "idle_timeout" : "client_closed"),
        bytesFromClient: this.bytesFromClient,
        bytesToClient: this.bytesToClient,
        bytesFromUpstream: this.bytesFromUpstream,
        bytesToUpstream: this.bytesToUpstream,
      },
    };
  }

  /** nginx's log context for a UDP session. */
  protected context(): string {
    return `, udp client: ${this.remoteAddress}, server: ${this.route.listenName}`;
  }
}
