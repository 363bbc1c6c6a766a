// Running out of file descriptors, handled as nginx does: say so at [crit] (at most once a
// second, counting the rest), stop accepting for a moment (nginx: 500 ms), keep serving the
// sessions already held, and start accepting again by itself once descriptors are free.
//
// None of the three runtimes tells JavaScript that accept() failed: Node's libuv accepts and
// closes the waiting clients itself, Bun's loop spins on the listening socket at 100% CPU,
// Deno's accept() stalls. So the guard acts just before that point: after an accept it makes
// sure a next session (a client and an upstream descriptor) still fits, and pauses otherwise.
import type { Logger } from "./log.ts";
import type { FdUsage, Listener } from "./runtime.ts";

/** nginx's accept-mutex delay, which it also waits after accept4() fails with EMFILE. */
export const ACCEPT_RETRY_MS = 500;
/** At most one [crit] line per this long; the ones in between are counted. */
export const ACCEPT_LOG_INTERVAL_MS = 1_000;
/** A session takes two descriptors: the client's and the upstream's. */
const PER_SESSION = 2;
/**
 * Counting open descriptors reads a directory as long as the descriptor table, so it is done
 * only when the cheap estimate (descriptors at start + two per session) is within this of the limit.
 */
const NEAR = 64;

export interface GuardClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemGuardClock: GuardClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class AcceptGuard {
  private paused = false;
  private timer: unknown = null;
  private lastLogMs = -Infinity;
  private suppressed = 0;
  private baseline: number | null = null;
  private limit: number | null = null;
  private limitReadMs = -Infinity;

  constructor(
    private readonly fds: FdUsage,
    private readonly logger: Logger,
    private readonly listeners: () => Iterable<Listener>,
    private readonly clock: GuardClock = systemGuardClock,
  ) {}

  get accepting(): boolean {
    return !this.paused;
  }

  /** After each accept, with the sessions now live. */
  afterAccept(liveSessions: number): void {
    if (this.paused) return;
    const limit = this.currentLimit();
    if (limit === null) return;
    this.baseline ??= Math.max(0, this.fds.open() - PER_SESSION * liveSessions);
    if (this.baseline + PER_SESSION * liveSessions + NEAR < limit) return;
    if (!this.roomForOneMore(limit)) this.pause();
  }

  /** Stops the retry timer (balancer close). */
  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.paused = false;
  }

  private roomForOneMore(limit: number): boolean {
    return limit - this.fds.open() >= PER_SESSION;
  }

  /** The soft limit, re-read at most once a second: prlimit(1) can change it under us. */
  private currentLimit(): number | null {
    const now = this.clock.now();
    if (now - this.limitReadMs >= ACCEPT_LOG_INTERVAL_MS) {
      this.limit = this.fds.limit();
      this.limitReadMs = now;
    }
    return this.limit;
  }

  private pause(): void {
    this.report();
    if (!this.paused) {
      this.paused = true;
      for (const l of this.listeners()) l.pause?.();
    }
    this.timer = this.clock.setTimeout(() => this.retry(), ACCEPT_RETRY_MS);
  }

  private retry(): void {
    this.timer = null;
    this.limitReadMs = -Infinity;
    const limit = this.currentLimit();
    if (limit !== null && !this.roomForOneMore(limit)) return this.pause();
    this.paused = false;
    for (const l of this.listeners()) l.resume?.();
  }

  private report(): void {
    const now = this.clock.now();
    if (now - this.lastLogMs < ACCEPT_LOG_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed ? ` (${this.suppressed} more since the last line)` : "";
    this.logger.log("crit", `accept4() failed (24: Too many open files)${more}`);
    this.lastLogMs = now;
    this.suppressed = 0;
  }
}
