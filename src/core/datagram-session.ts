// One UDP session, as nginx's stream proxy runs it: one client address:port on one listener,
// its own upstream socket to the peer the balancing method picked, datagrams passed one by
// one (never merged or split), ended by proxy_requests/proxy_responses or proxy_timeout.
// Failures end this session only and are logged in nginx's words.
import { sessionRate } from "./rate-value.ts";
import { connectFailureText } from "./connect-failure-text.ts";
import { UNLIMITED_RESPONSES } from "./config/schema/proxy.ts";
import { DownloadPacer, RateGate } from "./datagram-rate.ts";
import { type DatagramHost, DatagramSessionState, type DropCounter, PENDING_DATAGRAMS } from "./datagram-session-state.ts";
import type { DatagramSendResult, DatagramSocket, RelayEnd } from "./runtime.ts";
import type { Route, Target } from "./session.ts";
import type { SessionStatus } from "./session-outcome.ts";
import { PeerSelection } from "./peer-selection.ts";

export {
  type DatagramClock,
  type DatagramHost,
  type DropCounter,
  PENDING_DATAGRAMS,
  systemDatagramClock,
} from "./datagram-session-state.ts";

const encoder = new TextEncoder();

export class DatagramSession extends DatagramSessionState {
  private socket: DatagramSocket | null = null;
  private pending: Uint8Array[] | null = [];
  private selection: PeerSelection | null = null;
  private lastActiveMs: number;
  private timer: unknown = null;
  private finished = false;
  /** An ICMP unreachable (or other socket error) was seen: counted as a failure at the end. */
  private upstreamFailed = false;
  private tryStartMs = 0;
  /** proxy_upload_rate / proxy_download_rate; null = unlimited (the common case pays nothing). */
  private readonly upload: RateGate | null;
  private readonly download: DownloadPacer | null;

  constructor(
    id: number,
    remoteAddress: string,
    remotePort: number,
    route: Route,
    host: DatagramHost,
    private readonly drops: DropCounter,
  ) {
    super(id, remoteAddress, remotePort, route, host);
    this.lastActiveMs = this.startMs;
    // Rates with variables are evaluated as the session starts: a datagram session has its
    // upstream socket from its first datagram on.
    const proxyUploadRate = sessionRate(route.server.proxy.proxyUploadRate, route.rates?.upload, this);
    const proxyDownloadRate = sessionRate(route.server.proxy.proxyDownloadRate, route.rates?.download, this);
    this.upload = proxyUploadRate > 0 ? new RateGate(proxyUploadRate, this.startMs) : null;
    this.download = proxyDownloadRate > 0
      ? new DownloadPacer(new RateGate(proxyDownloadRate, this.startMs), {
        clock: host.clock,
        received: () => this.bytesFromUpstream,
        deliver: (data) => this.finished || this.reply(data),
        dropped: () => void this.drops.dropped++,
      }, PENDING_DATAGRAMS)
      : null;
  }

  /** The session's first datagram: phases, pick, open the upstream socket, forward. */
  async start(first: Uint8Array): Promise<void> {
    const { logger } = this.host;
    if (logger.enabled("info")) {
      logger.log(
        "info",
        `*${this.id} udp client ${this.remoteAddress}:${this.remotePort} connected to ${this.route.listenName}`,
      );
    }
    this.take(first, false);
    // The server's phases, as session.ts runs them for TCP (set, access, ...).
    for (const phase of this.route.phases ?? []) {
      let verdict = phase.run(this);
      if (typeof verdict === "object") verdict = await verdict;
      if (verdict !== "next") return this.finish(verdict);
      if (this.finished) return;
    }
    const route = this.route;
    if (route.pass) {
      this.logClientError("error", "cannot pass udp connection while passing connection to port");
      return this.finish(500);
    }
    if (route.returnValue) {
      // `return` over UDP: one datagram, and the session is done (ngx_stream_return_handler).
      const text = encoder.encode(route.returnValue.evaluate(this.variables));
      if (this.count(this.host.listener.send(text, this.remoteAddress, this.remotePort))) {
        this.sentToClient++;
        this.bytesToClient += text.length;
      }
      return this.finish(200);
    }
    let target: Target | null = route.target;
    if (route.proxyTarget) {
      let found = route.proxyTarget.resolve(route.proxyTarget.value.evaluate(this.variables));
      // A host name waits for the resolver; an upstream or an address does not.
      if (found instanceof Promise) found = await found;
      if (typeof found === "string") {
        // As over TCP: nginx's 500 (no port, no resolver, a name that did not resolve).
        this.logClientError("error", found);
        return this.finish(500);
      }
      target = found;
    }
    const { upstream, picker } = target!;
    const proxy = this.route.server.proxy;
    const selection = (this.selection = new PeerSelection(upstream, proxy.proxyNextUpstreamTries));
    const started = this.host.clock.now();
    for (;;) {
      const peer = picker.pick(selection, this);
      if (!peer) {
        logger.log(
          "error",
          `*${this.id} no live upstreams while connecting to upstream${this.context()}, upstream: "${upstream.name}"`,
        );
        this.tried.push(upstream.name);
        this.connectMs.push(-1);
        this.tryMs.push(0);
        this.selection = null;
        return this.finish(502);
      }
      if (!this.host.budget.take()) {
        this.host.budget.notEnough(`*${this.id} `, ` while connecting to upstream${this.context()}, upstream: "${peer.address}"`);
        selection.release();
        this.selection = null;
        return this.finish(500);
      }
      this.tried.push(peer.address);
      this.tryStartMs = this.host.clock.now();
      try {
        this.socket = await this.host.runtime.connectDatagram!(peer.config, {
          message: (data) => this.fromUpstream(data),
          error: (code, detail) => this.upstreamError(code, detail),
          dropped: (n) => void (this.drops.dropped += n),
        }, proxy.proxyBufferSize);
      } catch (err) {
        this.host.budget.release();
        this.connectMs.push(-1);
        this.tryMs.push(this.host.clock.now() - this.tryStartMs);
        const disabled = selection.failed();
        peer.stats.connectFailures++;
        if (disabled) peer.stats.disabled++;
        logger.log("error", `*${this.id} ${connectFailureText(err)}${this.context()}, upstream: "${peer.address}"`);
        const outOfTime = proxy.proxyNextUpstreamTimeoutMs > 0 &&
          this.host.clock.now() - started >= proxy.proxyNextUpstreamTimeoutMs;
        if (this.finished || selection.tries === 0 || !proxy.proxyNextUpstream || outOfTime) {
          this.selection = null;
          return this.finish(502);
        }
        continue;
      }
      this.connectMs.push(this.host.clock.now() - this.tryStartMs);
      if (this.finished) {
        // Aborted while the socket opened (stop, reload drop): close what just arrived.
        this.socket.close();
        this.host.budget.release();
        selection.release();
        return;
      }
      selection.connected();
      this.peer = peer;
      peer.stats.sessions++;
      peer.stats.lastSessionMs = this.host.clock.now();
      break;
    }
    if (logger.enabled("info")) {
      logger.log(
        "info",
        `*${this.id} udp proxy ${this.socket.localAddress}:${this.socket.localPort} connected to ${this.peer.address}`,
      );
    }
    const queued = this.pending!;
    this.pending = null;
    for (const d of queued) this.forward(d);
    if (!this.finished) this.armTimer();
    this.testFinalize();
  }

  /** A later datagram from the client (the table found this session). */
  fromClient(data: Uint8Array): void {
    if (this.finished) return;
    // nginx reads a later datagram into the proxy_buffer_size buffer: the rest is cut off.
    const size = this.route.server.proxy.proxyBufferSize;
    if (data.length > size) data = data.subarray(0, size);
    if (this.upload) {
      // While the upload rate pauses reading, a client's datagram is dropped, as in nginx.
      const now = this.host.clock.now();
      if (!this.upload.allow(now, this.bytesFromClient)) {
        this.drops.dropped++;
        return;
      }
      this.upload.read(now, data.length);
    }
    this.take(data, true);
  }

  private take(data: Uint8Array, forwardNow: boolean): void {
    this.requests++;
    this.bytesFromClient += data.length;
    this.lastActiveMs = this.host.clock.now();
    const limit = this.route.server.proxy.proxyRequests;
    if (limit > 0 && this.requests >= limit && this.attached) {
      this.attached = false;
      this.host.detach(this);
    }
    if (this.pending) {
      if (this.pending.length < PENDING_DATAGRAMS) this.pending.push(data);
      else this.drops.dropped++;
      return;
    }
    if (forwardNow) {
      this.forward(data);
      this.testFinalize();
    }
  }

  private forward(data: Uint8Array): void {
    if (this.count(this.socket!.send(data))) this.bytesToUpstream += data.length;
  }

  private fromUpstream(data: Uint8Array): void {
    if (this.finished) return;
    const size = this.route.server.proxy.proxyBufferSize;
    if (data.length > size) data = data.subarray(0, size);
    if (this.download) return this.download.push(data);
    this.reply(data);
  }

  private reply(data: Uint8Array): void {
    this.responses++;
    this.bytesFromUpstream += data.length;
    this.lastActiveMs = this.host.clock.now();
    if (this.count(this.host.listener.send(data, this.remoteAddress, this.remotePort))) {
      this.sentToClient++;
      this.bytesToClient += data.length;
    }
    this.testFinalize();
  }

  private count(result: DatagramSendResult): boolean {
    if (result === "sent") return true;
    this.drops.dropped++;
    return false;
  }

  /**
   * An ICMP port unreachable on the upstream socket. nginx logs the failed recv(), ends the
   * session as done (the client gets one zero-length datagram, as nginx 1.22 sends it) and
   * counts a failure against the peer.
   */
  private upstreamError(code: string, detail: string): void {
    if (this.finished) return;
    this.upstreamFailed = true;
    const what = code === "ECONNREFUSED" ? "111: Connection refused" : detail;
    this.host.logger.log(
      "error",
      `*${this.id} recv() failed (${what}) while proxying and reading from upstream${this.context()}, upstream: "${this.peer?.address}"`,
    );
    this.host.listener.send(new Uint8Array(0), this.remoteAddress, this.remotePort);
    this.sentToClient++;
    this.done("udp done");
  }

  private testFinalize(): void {
    if (this.finished || this.pending) return;
    const proxy = this.route.server.proxy;
    if (proxy.proxyRequests > 0 && this.requests < proxy.proxyRequests) return;
    if (proxy.proxyResponses === UNLIMITED_RESPONSES || this.responses < proxy.proxyResponses * this.requests) return;
    this.done("udp done");
  }

  private done(what: "udp done" | "udp timed out"): void {
    if (this.host.logger.enabled("info")) {
      this.host.logger.log(
        "info",
        `*${this.id} ${what}, packets from/to client:${this.requests}/${this.sentToClient}, bytes from/to client:${this.bytesFromClient}/${this.bytesToClient}, bytes from/to upstream:${this.bytesFromUpstream}/${this.bytesToUpstream}`,
      );
    }
    this.finish(200);
  }

  /** proxy_timeout counts idle time: one timer per session, re-armed for what is left. */
  private armTimer(): void {
    const timeoutMs = this.route.server.proxy.proxyTimeoutMs;
    if (timeoutMs <= 0) return;
    const left = this.lastActiveMs + timeoutMs - this.host.clock.now();
    this.timer = this.host.clock.setTimer(() => {
      this.timer = null;
      if (this.finished) return;
      if (this.host.clock.now() - this.lastActiveMs < timeoutMs) return this.armTimer();
      this.timedOut();
    }, Math.max(left, 1));
  }

  private timedOut(): void {
    const proxy = this.route.server.proxy;
    if (proxy.proxyResponses === UNLIMITED_RESPONSES || this.responses >= proxy.proxyResponses * this.requests) {
      return this.done("udp timed out");
    }
    this.upstreamFailed = true;
    this.host.logger.log(
      "error",
      `*${this.id} upstream timed out (110: Connection timed out) while proxying connection${this.context()}, upstream: "${this.peer?.address}"`,
    );
    this.finish(502);
  }

  /** Ends the session now (stop, drain timeout, session drop): no log line of its own. */
  abort(): void {
    if (!this.finished) this.finish(200, "aborted");
  }

  private finish(status: SessionStatus, end?: RelayEnd): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== null) this.host.clock.clearTimer(this.timer);
    this.timer = null;
    this.download?.stop();
    this.pending = null;
    const selection = this.selection;
    if (this.socket && selection) {
      this.socket.close();
      this.socket = null;
      this.host.budget.release();
      this.tryMs.push(this.host.clock.now() - this.tryStartMs);
      const peer = this.peer!;
      peer.stats.bytesToServer += this.bytesToUpstream;
      peer.stats.bytesFromServer += this.bytesFromUpstream;
      if (this.upstreamFailed) {
        if (selection.failed()) {
          peer.stats.disabled++;
          this.host.logger.log(
            "warn",
            `*${this.id} upstream server temporarily disabled while proxying connection${this.context()}, upstream: "${peer.address}"`,
          );
        }
      } else {
        selection.release();
      }
    }
    this.finalStatus = status;
    if (this.releases) { for (const release of this.releases) release(); }
    this.host.ended(this, this.outcome(status, end));
  }
}
