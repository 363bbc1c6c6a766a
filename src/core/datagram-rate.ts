// proxy_upload_rate / proxy_download_rate for one direction of a UDP session, as nginx paces
// it: a budget of `rate` bytes for every second since the session started (nginx's one-second
// clock), reading paused while the budget is spent, and after each datagram of n bytes a pause
// of n/rate seconds. A datagram is read whole, never cut to the budget.
export class RateGate {
  private pausedUntilMs = 0;
  private readonly startSec: number;

  constructor(
    /** Bytes per second; > 0. */
    private readonly rate: number,
    startMs: number,
  ) {
    this.startSec = Math.floor(startMs / 1000);
  }

  /** May a datagram be read now, with `received` bytes read from this side so far? */
  allow(nowMs: number, received: number): boolean {
    if (nowMs < this.pausedUntilMs) return false;
    const limit = this.rate * (Math.floor(nowMs / 1000) - this.startSec + 1) - received;
    if (limit > 0) return true;
    this.pausedUntilMs = nowMs + Math.floor((-limit * 1000) / this.rate) + 1;
    return false;
  }

  /** A datagram of `bytes` was read: pause for its share of the rate. */
  read(nowMs: number, bytes: number): void {
    this.pausedUntilMs = nowMs + Math.floor((bytes * 1000) / this.rate);
  }

  /** When reading may resume (ms since the epoch). */
  get resumeAtMs(): number {
    return this.pausedUntilMs;
  }
}

/** What the download pacer needs from its session. */
export interface PacedSession {
  readonly clock: { now(): number; setTimer(fn: () => void, ms: number): unknown; clearTimer(handle: unknown): void };
  /** Bytes read from the upstream so far. */
  received(): number;
  deliver(data: Uint8Array): void;
  /** A reply that found the held queue full. */
  dropped(): void;
}

/**
 * proxy_download_rate for a UDP session: replies that come while reading is paused wait here
 * (nginx leaves them in the socket) up to `limit` of them, and go out as the rate allows.
 */
export class DownloadPacer {
  private held: Uint8Array[] = [];
  private timer: unknown = null;

  constructor(
    private readonly gate: RateGate,
    private readonly session: PacedSession,
    private readonly limit: number,
  ) {}

  push(data: Uint8Array): void {
    const now = this.session.clock.now();
    if (this.held.length === 0 && this.gate.allow(now, this.session.received())) {
      this.gate.read(now, data.length);
      return this.session.deliver(data);
    }
    if (this.held.length >= this.limit) return this.session.dropped();
    this.held.push(data);
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.session.clock.clearTimer(this.timer);
    this.timer = null;
    this.held = [];
  }

  private schedule(): void {
    if (this.timer !== null) return;
    const { clock } = this.session;
    this.timer = clock.setTimer(() => {
      this.timer = null;
      while (this.held.length > 0 && this.gate.allow(clock.now(), this.session.received())) {
        const next = this.held.shift()!;
        this.gate.read(clock.now(), next.length);
        this.session.deliver(next);
      }
      if (this.held.length > 0) this.schedule();
    }, Math.max(this.gate.resumeAtMs - clock.now(), 1));
  }
}
