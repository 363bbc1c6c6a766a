// One client connection's life, as nginx's phase engine runs it: the server's phases
// (post-accept, pre-access, access, ssl, preread: only those its config switches on), then
// the content handler (proxy_pass: pick a peer, connect with next upstream on failure, relay;
// or return: write, close), then the balancer logs it. Failures end this session only; they
// are logged in nginx's words.
import type { ConnectionBudget } from "./connections.ts";
import type { Logger } from "./log.ts";
import type { Phase } from "./phases/phase.ts";
import { phasesAfter } from "./phases/pipeline.ts";
import {
  type ClientConnection,
  ConnectFailure,
  type RelayResult,
  type RelaySink,
  type Runtime,
  type UpstreamConnection,
} from "./runtime.ts";
import { localBind } from "./proxy-bind.ts";
import { bytesTail, relayErrorLine } from "./relay-error.ts";
import { concat, where } from "./session-text.ts";
import { sessionRate } from "./rate-value.ts";
import type { SessionOutcome, SessionStatus } from "./session-outcome.ts";
import { type Peer, type Upstream } from "./upstream.ts";
import { PeerSelection, releasePeer } from "./peer-selection.ts";
import type { ComplexValue } from "./variables/complex-value.ts";
import type { LogLevel } from "./config/model.ts";
import type { UpstreamTry } from "./variables/context.ts";
import { outcomeTries } from "./variables/record-context.ts";
import { firstThen } from "./session-base.ts";
import { SessionFacts } from "./session-facts.ts";
import { connectUpstreamTls } from "./upstream-tls.ts";
import { connectFailureText } from "./connect-failure-text.ts";
import { sendReturn } from "./return-content.ts";
import { proxyProtocolHeader } from "./phases/proxy-protocol-send.ts";
import { type PassCarry, passDestination, type PassRoute } from "./pass-content.ts";

export type { Route, Target } from "./route.ts";
import type { Route, Target } from "./route.ts";

export type { SessionOutcome, SessionStatus } from "./session-outcome.ts";

const NO_PHASES: readonly Phase[] = [];

/**
 * Who hears that a session ended (the balancer, one per listener): called once, with the
 * outcome, or with what went wrong in the core. An object, so an idle session holds no
 * promise or closure for its end.
 */
export interface SessionOwner {
  sessionEnded(session: Session, outcome: SessionOutcome): void;
  sessionFailed(session: Session, err: unknown): void;
}

/** What a content handler returns while its relay runs: the relay reports the end (relayEnded). */
const RELAYING = null;
type Pending = SessionOutcome | typeof RELAYING;

/** A TCP session's life; what it knows of itself is in SessionFacts. */
export class Session extends SessionFacts implements RelaySink {
  private owner: SessionOwner | null = null;
  private upstreamConn: UpstreamConnection | null = null;
  private aborted = false;
  /** The server this session is connected to, once it is (for session drop and status). */
  peer: Peer | null = null;
  /** The upstream this session proxies to, once chosen (`proxy_pass $var` chooses per session). */
  upstream: Upstream | null = null;
  private lastTryStart = 0;
  /** ms from the last try's connect to the upstream's first read; -1 before one. */
  private firstByteMs = -1;
  /** The connected peer's group is nginx's "single" (its release revives nothing). */
  private peerAlone = false;

  constructor(
    id: number,
    client: ClientConnection,
    route: Route,
    private readonly runtime: Runtime,
    logger: Logger,
    /** worker_connections: the upstream socket of each try is taken from it. */
    private readonly budget: ConnectionBudget,
    carry: PassCarry | null = null,
  ) {
    super(id, client, route, logger, carry);
  }

  upstreamTries(): readonly UpstreamTry[] {
    return outcomeTries(this.outcomeSoFar(200, false));
  }

  /** Ends the session now, whatever it is doing (stop, drain timeout). */
  abort(): void {
    this.aborted = true;
    this.client.close();
    this.upstreamConn?.close();
  }

  /** Runs the session; `owner` hears its end once. */
  start(owner: SessionOwner): void {
    this.owner = owner;
    const route = this.route;
    // A session's first line (ngx_stream_init_connection), in its server's error log.
    if (this.logger.enabled("info")) {
      this.logger.log(
        "info",
        `*${this.id} client ${where(this.client.remoteAddress, this.client.remotePort)} connected to ${route.listenName}`,
      );
    }
    // The plain proxy (no phase, one upstream) skips the phase loop. Either way, once the relay
    // runs no async frame or promise is left waiting: the relay reports to relayEnded().
    const plain = route.phases === undefined && route.target !== null && !route.returnValue && !route.proxyTarget;
    (plain ? this.proxy(route.target!) : this.phasesThenContent()).then(
      (outcome) => outcome === RELAYING || this.end(outcome),
      (err: unknown) => this.crash(err),
    );
  }

  /** start() for one caller that awaits the outcome (tests, tools). */
  run(): Promise<SessionOutcome> {
    return new Promise((resolve, reject) =>
      this.start({ sessionEnded: (_, o) => resolve(o), sessionFailed: (_, e) => reject(e) })
    );
  }

  private end(outcome: SessionOutcome): void {
    this.endRun()?.sessionEnded(this, outcome);
  }

  private crash(err: unknown): void {
    this.endRun()?.sessionFailed(this, err);
  }

  /** Once, whichever way the session ends: the releases (limit_conn's slot…) run, and the owner is handed back. */
  private endRun(): SessionOwner | null {
    const owner = this.owner;
    this.owner = null;
    if (owner === null) return null;
    const releases = this.releases;
    this.releases = null;
    if (releases) { for (const release of releases) release(); }
    return owner;
  }

  private async phasesThenContent(): Promise<Pending> {
    let phases = this.route.phases ?? NO_PHASES;
    for (let i = 0; i < phases.length; i++) {
      const route = this.route;
      let verdict = phases[i]!.run(this);
      // Only phases that wait for the client return a promise; the others cost no tick.
      if (typeof verdict === "object") verdict = await verdict;
      if (verdict !== "next") return this.fail(verdict);
      if (this.aborted) return this.fail(500);
      // SNI chose another server block: its phases after this one run from here on.
      if (this.route !== route) ({ phases, i } = phasesAfter(this.route.phases, phases[i]!));
    }
    const route = this.route;
    if (route.returnValue) return this.respond(route.returnValue);
    if (route.pass) return this.passOn(route.pass);
    let target = route.target;
    if (route.proxyTarget) {
      const name = route.proxyTarget.value.evaluate(this.variables);
      let found = route.proxyTarget.resolve(name);
      // A host name waits for the resolver; an upstream or an address does not.
      if (found instanceof Promise) found = await found;
      if (typeof found === "string") {
        // nginx ends these with 500, not 502: no port, no resolver, or a name that did not
        // resolve is the session's own failure, before any upstream was tried.
        this.logClientError("error", found);
        return this.fail(500);
      }
      target = found;
    }
    return this.proxy(target!);
  }

  /** `return VALUE`: nginx writes the value and closes (ngx_stream_return_handler). */
  private async respond(value: ComplexValue): Promise<SessionOutcome> {
    await sendReturn(this.client, value.evaluate(this.variables));
    this.client.close();
    return this.outcomeSoFar(200);
  }

  /** `pass`: the connection starts over on another listener, where the balancer opens its session. */
  private passOn(pass: PassRoute): SessionOutcome {
    const early = this.takeEarlyData(), passes = this.carried?.passes ?? 0;
    const to = passDestination(this, pass, passes, this.tlsFacts !== null && early !== null && early.length > 0);
    if (typeof to === "number") return this.fail(to);
    const { client, tlsFacts, realAddr: remote, proxyProtocol, releases } = this;
    this.releases = null; // the connection's (limit_conn's slots): they go on with it
    const carry = { client, tlsFacts, remote, proxyProtocol, releases, early, passes: passes + 1, local: to.local };
    return { ...this.outcomeSoFar(200), passed: { key: to.key, name: to.name, carry } };
  }

  /** proxy_pass: pick, connect (next upstream on failure), relay. */
  private async proxy(target: Target): Promise<Pending> {
    const { upstream, picker } = target;
    this.upstream = upstream;
    const proxy = this.route.server.proxy;
    const selection = new PeerSelection(upstream, proxy.proxyNextUpstreamTries);
    const started = Date.now();
    const bind = this.route.server.proxyBind === undefined ? {} : localBind(this.route.server.proxyBind, this.route.bind, this);
    let header: Uint8Array | null = null;
    if (proxy.proxyProtocol !== "off") {
      header = proxyProtocolHeader(proxy.proxyProtocol, this.remoteAddress, this.remotePort, this.client);
      // nginx finalizes with 500 when it cannot build the header.
      if (header === null) return this.fail(500);
      // With proxy_ssl it goes before the handshake, in cleartext, as nginx sends it.
      if (!this.route.tls?.proxy) this.keepEarlyDataFirst(header);
    }

    for (;;) {
      const peer = picker.pick(selection, this);
      if (!peer) {
        this.error(`no live upstreams while connecting to upstream`, `"${upstream.name}"`);
        this.addTry(upstream.name);
        this.addConnectMs(-1);
        this.addTryMs(0);
        return this.fail(502);
      }
      // nginx picks the peer, then takes a connection for its socket; none left ends the session.
      if (!this.budget.take()) {
        const where = `client: ${this.client.remoteAddress}, server: ${this.route.listenName}, upstream: "${peer.address}"`;
        this.budget.notEnough(`*${this.id} `, ` while connecting to upstream, ${where}`);
        selection.release();
        return this.fail(500);
      }
      this.addTry(peer.address);
      const tryStart = (this.lastTryStart = Date.now());
      try {
        const { proxyConnectTimeoutMs: timeoutMs, tcpNodelay: noDelay, proxySocketKeepalive: keepAlive } = proxy;
        const options = { timeoutMs, noDelay, keepAlive, ...bind }, tls = this.route.tls;
        // A client `pass` may hand on came on a socket that could take TLS: its upstream must be of that kind.
        if (this.carried || this.route.upgradeable) Object.assign(options, { sameKindAs: this.client });
        this.upstreamConn = tls
          ? await connectUpstreamTls(tls, peer, this.tlsNames(upstream), options, header)
          : await this.runtime.connect(peer.config, options);
      } catch (err) {
        this.budget.release();
        if (err instanceof ConnectFailure && err.message.startsWith("bind(")) {
          // nginx: a failed bind() is no upstream's fault: 500, no next upstream.
          this.logger.log(
            "crit",
            `*${this.id} ${err.message} while connecting to upstream, client: ${this.client.remoteAddress}, server: ${this.route.listenName}, upstream: "${peer.address}"`,
          );
          selection.release();
          return this.fail(500);
        }
        this.addConnectMs(-1);
        this.addTryMs(Date.now() - tryStart);
        const disabled = selection.failed();
        peer.stats.connectFailures++;
        if (disabled) peer.stats.disabled++;
        this.error(connectFailureText(err), `"${peer.address}"`);
        if (disabled) this.log("warn", `upstream server temporarily disabled while connecting to upstream`, peer.address);
        const outOfTime = proxy.proxyNextUpstreamTimeoutMs > 0 && Date.now() - started >= proxy.proxyNextUpstreamTimeoutMs;
        if (this.aborted || selection.tries === 0 || !proxy.proxyNextUpstream || outOfTime) {
          return this.fail(502);
        }
        continue;
      }
      this.addConnectMs(Date.now() - tryStart);
      if (this.aborted) {
        this.addTryMs(Date.now() - tryStart);
        this.upstreamConn.close();
        this.budget.release();
        selection.release();
        return this.fail(502);
      }
      selection.connected();
      this.peer = peer;
      this.peerAlone = selection.currentGroup.single;
      peer.stats.sessions++;
      peer.stats.lastSessionMs = Date.now();
      break;
    }
    // This frame and the selection end here: an idle session is the relay and this object.
    this.relayStage(this.upstreamConn, this.peer);
    return RELAYING;
  }

  /** What a TLS connect names (proxy_ssl_name, proxy_ssl_alpn): made only for a TLS route. */
  private tlsNames(upstream: Upstream) {
    const sslName = this.route.proxySslName?.evaluate(this.variables) ?? null;
    const alpn = this.route.proxySslAlpn?.map((v) => v.evaluate(this.variables)) ?? null;
    return { upstream: upstream.name, sslName, listen: this.route.listenName, alpn };
  }

  private relayStage(upstreamConn: UpstreamConnection, peer: Peer): void {
    const proxy = this.route.server.proxy;
    if (this.logger.enabled("info")) {
      // Read now: a client reset (logged at info) leaves no peer address to ask for later.
      void this.client.remoteAddress;
      this.log(
        "info",
        `proxy ${where(upstreamConn.localAddress, upstreamConn.localPort)} connected to ${
          where(upstreamConn.remoteAddress, upstreamConn.remotePort)
        }`,
      );
    }
    // Status adds the live counts of these to the totals, so long sessions show traffic.
    peer.live.add(upstreamConn);
    try {
      this.runtime.relay(this.client, upstreamConn, {
        idleTimeoutMs: proxy.proxyTimeoutMs,
        halfClose: proxy.proxyHalfClose,
        bufferSize: proxy.proxyBufferSize,
        upstreamFirst: this.early === null ? null : concat(this.early),
        // 0 = unlimited, and the adapters then pace nothing.
        uploadRate: sessionRate(proxy.proxyUploadRate, this.route.rates?.upload, this),
        downloadRate: sessionRate(proxy.proxyDownloadRate, this.route.rates?.download, this),
      }, this);
    } catch (err) {
      this.releaseUpstream(upstreamConn, peer);
      throw err;
    }
  }

  /** RelaySink: the relay is over (its sockets closed); the session ends with it. */
  relayEnded(relay: RelayResult): void {
    try {
      const peer = this.peer!;
      this.releaseUpstream(this.upstreamConn!, peer);
      this.end(this.relayed(relay, peer));
    } catch (err) {
      this.crash(err);
    }
  }

  private releaseUpstream(upstreamConn: UpstreamConnection, peer: Peer): void {
    this.budget.release();
    releasePeer(this.upstream!, peer, this.peerAlone);
    this.addTryMs(Date.now() - this.lastTryStart);
    peer.live.delete(upstreamConn);
  }

  private relayed(relay: RelayResult, peer: Peer): SessionOutcome {
    this.relayResult = relay;
    const firstRead = relay.upstreamFirstReadAt ?? -1;
    if (firstRead >= 0) this.firstByteMs = Math.max(0, firstRead - this.lastTryStart);
    peer.stats.bytesToServer += relay.bytesToUpstream;
    peer.stats.bytesFromServer += relay.bytesFromUpstream;
    if (relay.end === "idle_timeout") {
      this.log("info", `upstream timed out (110: Connection timed out) while proxying connection`);
    }
    const failed = relay.error ? relayErrorLine(relay) : null;
    if (failed) this.log(failed.level, failed.text, peer.address, bytesTail(relay));
    // nginx finalizes at once on a failed send; a failed read is an EOF, then "disconnected".
    if (this.logger.enabled("info") && relay.error?.op !== "send") {
      this.log("info", `${relay.end.startsWith("upstream") ? "upstream" : "client"} disconnected${bytesTail(relay)}`);
    }
    return this.outcomeSoFar(200);
  }

  private outcomeSoFar(status: SessionStatus, final = true): SessionOutcome {
    if (final) this.finalStatus = status;
    return {
      status,
      upstreamAddrs: firstThen(this.addr0, this.triedList),
      upstreamConnectMs: firstThen(this.connectMs0, this.connectMsList),
      upstreamSessionMs: firstThen(this.tryMs0, this.tryMsList),
      upstreamFirstByteMs: this.firstByteMs,
      relay: this.relayResult,
    };
  }

  private fail(status: SessionStatus): SessionOutcome {
    this.client.close();
    return this.outcomeSoFar(status);
  }

  private error(message: string, upstream: string): void {
    this.logger.log(
      "error",
      `*${this.id} ${message}, client: ${this.client.remoteAddress}, server: ${this.route.listenName}, upstream: ${upstream}`,
    );
  }

  /** `bytes`: the proxy's byte counts, which nginx appends after the upstream. */
  private log(level: LogLevel, message: string, upstream?: string, bytes = ""): void {
    if (!this.logger.enabled(level)) return;
    const tail = upstream
      ? `, client: ${this.client.remoteAddress}, server: ${this.route.listenName}, upstream: "${upstream}"`
      : "";
    this.logger.log(level, `*${this.id} ${message}${tail}${bytes}`);
  }
}
