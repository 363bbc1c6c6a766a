// proxy_upload_rate / proxy_download_rate, paced as nginx paces them (ngx_stream_proxy_process):
// a direction may have read rate·(seconds since the session's proxying began + 1) bytes, on a
// whole-second clock; past that it waits until the budget allows, and after each read of n
// bytes it pauses n·1000/rate ms. Runtime-agnostic: every adapter's relay uses it, and only
// for a direction that has a rate (a session without one never reaches this module).

/** One direction's budget. `received` starts at what the side already sent (early data). */
export class RateBudget {
  private readonly startSec = Math.floor(Date.now() / 1000);

  constructor(
    readonly rate: number,
    public received: number,
  ) {}

  /** Bytes that may be read now; 0 or less means wait (waitMs says how long). */
  allowance(): number {
    return this.rate * (Math.floor(Date.now() / 1000) - this.startSec + 1) - this.received;
  }

  /** nginx waits until the second's budget covers the overdraft, and a millisecond more. */
  waitMs(allowance: number): number {
    return Math.floor((-allowance * 1000) / this.rate) + 1;
  }

  /** Counts `n` bytes read and says how long reading pauses after them. */
  took(n: number): number {
    this.received += n;
    return Math.floor((n * 1000) / this.rate);
  }
}

/** Where a Pacer sends what its budget lets through, and how it lets the source read again. */
export interface PacedSink {
  /** Writes on; true when the kernel took it all, false when the rest is queued (then call flushed()). */
  forward(bytes: Uint8Array): boolean;
  /** Nothing held back, no pause running: the source may be read again. */
  readAgain(): void;
  /** Bytes moved or a pause began or ended: not idle (proxy_timeout does not run while paced). */
  touch(): void;
}

/**
 * Pacing for sockets whose reads cannot be capped at the budget (libuv's and Bun's reads take
 * what the kernel has): the source stops reading while a chunk is held, and the Pacer lets it
 * through in the slices and at the moments nginx's capped reads would have, so the destination
 * sees nginx's timing; at most one read's worth is held.
 */
export class Pacer {
  private held: Uint8Array | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing = false;
  private stopped = false;

  constructor(
    private readonly budget: RateBudget,
    private readonly sink: PacedSink,
  ) {}

  /** A pause is running (the relay's idle timeout must not end the session meanwhile). */
  get pausing(): boolean {
    return this.timer !== null;
  }

  /** Holds bytes back, lets no more be read, or a write is still being flushed. */
  get busy(): boolean {
    return this.held !== null || this.timer !== null || this.flushing;
  }

  /** A chunk the source read (it has stopped reading); the Pacer may keep it, so no reused buffers. */
  hold(chunk: Uint8Array): void {
    if (this.held) {
      const joined = new Uint8Array(this.held.byteLength + chunk.byteLength);
      joined.set(this.held);
      joined.set(chunk, this.held.byteLength);
      this.held = joined;
    } else {
      this.held = chunk;
    }
    this.step();
  }

  /** The queued rest of the last forward() reached the kernel. */
  flushed(): void {
    this.flushing = false;
    this.step();
  }

  stop(): void {
    this.stopped = true;
    this.held = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private step(): void {
    while (!this.stopped && !this.timer && !this.flushing) {
      const held = this.held;
      if (!held) return this.sink.readAgain();
      const allowance = this.budget.allowance();
      if (allowance <= 0) return this.pause(this.budget.waitMs(allowance));
      const n = Math.min(allowance, held.byteLength);
      this.held = n === held.byteLength ? null : held.subarray(n);
      const pauseMs = this.budget.took(n);
      if (pauseMs > 0) this.pause(pauseMs);
      this.sink.touch();
      if (!this.sink.forward(n === held.byteLength ? held : held.subarray(0, n))) this.flushing = true;
    }
  }

  private pause(ms: number): void {
    this.sink.touch();
    this.timer = setTimeout(this.wake, ms);
  }

  private readonly wake = (): void => {
    this.timer = null;
    this.sink.touch();
    this.step();
  };
}
