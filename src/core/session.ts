// One client connection's life: access rules, pick a peer, connect (next upstream on
// failure), relay, release. Failures end this session only; they are logged in nginx's words.
import type { SessionLogger } from "./access-log.ts";
import type { ServerConfig } from "./config/model.ts";
import type { ConnectionBudget } from "./connections.ts";
import type { Logger } from "./log.ts";
import type { AccessRules } from "./phases/access.ts";
import type { PickContext, Picker } from "./balance/types.ts";
import { type ClientConnection, ConnectFailure, type RelayResult, type Runtime, type UpstreamConnection } from "./runtime.ts";
import { type Peer, PeerSelection, type Upstream } from "./upstream.ts";
import type { SessionOutcome, SessionStatus } from "./session-outcome.ts";
import { handshakeFailure, sslPhase, upstreamVerifyError } from "./phases/ssl.ts";
import type { RouteTls } from "./phases/ssl-setup.ts";
import { type TlsFacts, TlsHandshakeError } from "./runtime.ts";

/** Where a listener's sessions go: the server block and its upstream, as of one config. */
export interface Route {
  readonly server: ServerConfig;
  readonly upstream: Upstream;
  readonly picker: Picker;
  /** `0.0.0.0:8000`, for log lines. */
  readonly listenName: string;
  /** The server's access_log (the balancer writes it when a session ends); null/absent = off. */
  readonly accessLog?: SessionLogger | null;
  /** allow/deny; null/absent = no rules, and the phase costs nothing. */
  readonly access?: AccessRules | null;
  /** `listen … ssl` and proxy_ssl, compiled; null/absent = plain TCP both ways. */
  readonly tls?: RouteTls | null;
}

export type { SessionOutcome, SessionStatus } from "./session-outcome.ts";

/**
 * What a balancing method may ask about the client. Getters, because reading an address can
 * be a system call (getpeername) and only hash keys look at them: round robin and least_conn
 * never pay for it. A class, so a session makes one small object rather than four closures.
 */
class ClientContext implements PickContext {
  constructor(private readonly client: ClientConnection) {}
  get remoteAddress(): string {
    return this.client.remoteAddress;
  }
  get remotePort(): number {
    return this.client.remotePort;
  }
  get serverAddress(): string {
    return this.client.localAddress;
  }
  get serverPort(): number {
    return this.client.localPort;
  }
}

export class Session {
  private upstreamConn: UpstreamConnection | null = null;
  private aborted = false;
  /** The server this session is connected to, once it is (for session drop and status). */
  peer: Peer | null = null;
  /** When the client was accepted ($session_time counts from here). */
  readonly startMs = Date.now();
  // The upstream states of nginx's access log variables, one entry per try.
  private readonly connectMs: number[] = [];
  private readonly tryMs: number[] = [];
  private lastTryStart = 0;
  /** The client's handshake ($ssl_* variables); null on plain TCP. */
  tlsFacts: TlsFacts | null = null;

  constructor(
    readonly id: number,
    /** Replaced by its TLS side once the ssl phase has run. */
    public client: ClientConnection,
    readonly route: Route,
    private readonly runtime: Runtime,
    private readonly logger: Logger,
    /** worker_connections: the upstream socket of each try is taken from it. */
    private readonly budget: ConnectionBudget,
  ) {}

  /** Ends the session now, whatever it is doing (stop, drain timeout). */
  abort(): void {
    this.aborted = true;
    this.client.close();
    this.upstreamConn?.close();
  }

  async run(): Promise<SessionOutcome> {
    const { server, upstream, picker } = this.route;
    const proxy = server.proxy;
    const selection = new PeerSelection(upstream, proxy.proxyNextUpstreamTries);
    const tried: string[] = [];
    const started = Date.now();
    const ctx = new ClientContext(this.client);

    // The access phase (ngx_stream_access_handler): a denied client never reaches the upstream.
    if (this.route.access && !this.route.access.allows(this.client.remoteAddress)) {
      this.logger.log(
        "error",
        `*${this.id} access forbidden by rule, client: ${this.client.remoteAddress}, server: ${this.route.listenName}`,
      );
      return this.fail(403, tried);
    }

    // The ssl phase (ngx_stream_ssl_handler), after access as in nginx: a failed handshake is 500.
    const tls = this.route.tls ?? null;
    if (tls?.server) {
      // Read now: a socket a failed handshake closed no longer knows its peer.
      const remote = this.client.remoteAddress;
      const r = await sslPhase(tls, this.client);
      if (!r.ok) {
        if (this.logger.enabled(r.level)) {
          this.logger.log(r.level, `*${this.id} ${r.message}, client: ${remote}, server: ${this.route.listenName}`);
        }
        return this.fail(500, tried);
      }
      this.client = r.client;
      this.tlsFacts = r.facts;
      if (this.aborted) return this.fail(500, tried);
    }

    for (;;) {
      const peer = picker.pick(selection, ctx);
      if (!peer) {
        this.error(`no live upstreams while connecting to upstream`, `"${upstream.name}"`);
        tried.push(upstream.name);
        this.connectMs.push(-1);
        this.tryMs.push(0);
        return this.fail(502, tried);
      }
      // nginx picks the peer, then takes a connection for its socket; none left ends the session.
      if (!this.budget.take()) {
        const where = `client: ${this.client.remoteAddress}, server: ${this.route.listenName}, upstream: "${peer.address}"`;
        this.budget.notEnough(`*${this.id} `, ` while connecting to upstream, ${where}`);
        selection.release();
        return this.fail(500, tried);
      }
      tried.push(peer.address);
      const tryStart = (this.lastTryStart = Date.now());
      try {
        const options = {
          timeoutMs: proxy.proxyConnectTimeoutMs,
          noDelay: proxy.tcpNodelay,
          keepAlive: proxy.proxySocketKeepalive,
        };
        this.upstreamConn = tls ? await this.connectTls(tls, peer, options) : await this.runtime.connect(peer.config, options);
      } catch (err) {
        this.budget.release();
        this.connectMs.push(-1);
        this.tryMs.push(Date.now() - tryStart);
        const disabled = selection.failed();
        peer.stats.connectFailures++;
        if (disabled) peer.stats.disabled++;
        this.logConnectFailure(err, peer.address);
        if (disabled) this.log("warn", `upstream server temporarily disabled while connecting to upstream`, peer.address);
        const outOfTime = proxy.proxyNextUpstreamTimeoutMs > 0 && Date.now() - started >= proxy.proxyNextUpstreamTimeoutMs;
        if (this.aborted || selection.tries === 0 || !proxy.proxyNextUpstream || outOfTime) {
          return this.fail(502, tried);
        }
        continue;
      }
      this.connectMs.push(Date.now() - tryStart);
      if (this.aborted) {
        this.tryMs.push(Date.now() - tryStart);
        this.upstreamConn.close();
        this.budget.release();
        selection.release();
        return this.fail(502, tried);
      }
      selection.connected();
      this.peer = peer;
      peer.stats.sessions++;
      peer.stats.lastSessionMs = Date.now();
      break;
    }

    const upstreamConn = this.upstreamConn;
    if (this.logger.enabled("info")) {
      this.log(
        "info",
        `proxy ${upstreamConn.localAddress}:${upstreamConn.localPort} connected to ${upstreamConn.remoteAddress}:${upstreamConn.remotePort}`,
      );
    }
    const peer = this.peer!;
    // Status adds the live counts of these to the totals, so long sessions show traffic.
    peer.live.add(upstreamConn);
    let relay: RelayResult;
    try {
      relay = await this.runtime.relay(this.client, upstreamConn, {
        idleTimeoutMs: proxy.proxyTimeoutMs,
        halfClose: proxy.proxyHalfClose,
        bufferSize: proxy.proxyBufferSize,
      });
    } finally {
      this.budget.release();
      selection.release();
      this.tryMs.push(Date.now() - this.lastTryStart);
      peer.live.delete(upstreamConn);
    }
    peer.stats.bytesToServer += relay.bytesToUpstream;
    peer.stats.bytesFromServer += relay.bytesFromUpstream;
    if (relay.end === "idle_timeout") {
      this.log("info", `upstream timed out (110: Connection timed out) while proxying connection`);
    }
    if (this.logger.enabled("info")) {
      this.log(
        "info",
        `${
          relay.end.startsWith("upstream") ? "upstream" : "client"
        } disconnected, bytes from/to client:${relay.bytesFromClient}/${relay.bytesToClient}, bytes from/to upstream:${relay.bytesFromUpstream}/${relay.bytesToUpstream}`,
      );
    }
    return { status: 200, upstreamAddrs: tried, upstreamConnectMs: this.connectMs, upstreamSessionMs: this.tryMs, relay };
  }

  private fail(status: SessionStatus, tried: string[]): SessionOutcome {
    this.client.close();
    return { status, upstreamAddrs: tried, upstreamConnectMs: this.connectMs, upstreamSessionMs: this.tryMs, relay: null };
  }

  /**
   * A backend for a session with TLS on either side; with proxy_ssl, the handshake and nginx's
   * checks after it (proxy_ssl_verify), whose failure is a failed try like a refused connect.
   */
  private async connectTls(
    tls: RouteTls,
    peer: Peer,
    options: { timeoutMs: number; noDelay: boolean; keepAlive: boolean },
  ): Promise<UpstreamConnection> {
    const s = tls.settings;
    // proxy_ssl_name's default: the proxy_pass host, without a port (nginx strips it).
    const name = s.proxySslName ?? this.route.server.proxyPass.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    const client = tls.proxy && {
      ...tls.proxy,
      serverName: s.proxySslServerName ? name : null,
      sessionKey: s.proxySslSessionReuse ? `${this.route.listenName} ${this.route.upstream.name} ${peer.address}` : null,
    };
    const { connection, facts } = await tls.support.connect(peer.config, options, client);
    if (facts && s.proxySslVerify) {
      const error = upstreamVerifyError(facts, name, s.proxySslVerifyDepth);
      if (error !== null) {
        connection.close();
        throw new UpstreamTlsRefused(error);
      }
    }
    return connection;
  }

  private logConnectFailure(err: unknown, address: string): void {
    if (err instanceof UpstreamTlsRefused) {
      this.error(`${err.message} while SSL handshaking to upstream`, `"${address}"`);
    } else if (err instanceof TlsHandshakeError) {
      this.error(handshakeFailure(err, "upstream", "while SSL handshaking to upstream").message, `"${address}"`);
    } else if (err instanceof ConnectFailure && err.kind === "timeout") {
      this.error(`upstream timed out (110: Connection timed out) while connecting to upstream`, `"${address}"`);
    } else if (err instanceof ConnectFailure && err.kind === "refused") {
      this.error(`connect() failed (111: Connection refused) while connecting to upstream`, `"${address}"`);
    } else {
      const detail = err instanceof Error ? err.message : String(err);
      this.error(`connect() failed (${detail}) while connecting to upstream`, `"${address}"`);
    }
  }

  private error(message: string, upstream: string): void {
    this.logger.log(
      "error",
      `*${this.id} ${message}, client: ${this.client.remoteAddress}, server: ${this.route.listenName}, upstream: ${upstream}`,
    );
  }

  private log(level: "info" | "warn", message: string, upstream?: string): void {
    if (!this.logger.enabled(level)) return;
    const tail = upstream
      ? `, client: ${this.client.remoteAddress}, server: ${this.route.listenName}, upstream: "${upstream}"`
      : "";
    this.logger.log(level, `*${this.id} ${message}${tail}`);
  }
}

/** proxy_ssl_verify refused the upstream's certificate (the message is nginx's). */
class UpstreamTlsRefused extends Error {}
