// proxy_timeout for every live session without a timer per session or a timer reset per
// chunk: the relay only sets `active = true` when bytes move (one store on the hot path), and
// one sweep per timeout value looks at all sessions a few times per timeout period.

export interface IdleWatch {
  /** Set by the relay whenever bytes move in either direction. */
  active: boolean;
  /** How long this watch has seen no activity, in ms. */
  idleMs: number;
  readonly onIdle: () => void;
}

interface Bucket {
  readonly watches: Set<IdleWatch>;
  readonly timer: ReturnType<typeof setInterval>;
}

const MIN_STEP_MS = 25;
const MAX_STEP_MS = 1000;

export class IdleSweeper {
  private readonly buckets = new Map<number, Bucket>();

  /** Calls `onIdle` once the watch has been inactive for `timeoutMs` (within timeout/8). */
  watch(timeoutMs: number, onIdle: () => void): IdleWatch {
    return this.add(timeoutMs, { active: false, idleMs: 0, onIdle });
  }

  /** watch() for an object that is its own watch (a relay), so a session makes one object less. */
  add<W extends IdleWatch>(timeoutMs: number, w: W): W {
    if (timeoutMs <= 0) return w;
    let bucket = this.buckets.get(timeoutMs);
    if (!bucket) {
      const step = Math.min(MAX_STEP_MS, Math.max(MIN_STEP_MS, Math.floor(timeoutMs / 8)));
      const watches = new Set<IdleWatch>();
      bucket = { watches, timer: setInterval(() => this.sweep(timeoutMs, watches, step), step) };
      this.buckets.set(timeoutMs, bucket);
    }
    bucket.watches.add(w);
    return w;
  }

  unwatch(timeoutMs: number, w: IdleWatch): void {
    const bucket = this.buckets.get(timeoutMs);
    if (!bucket) return;
    bucket.watches.delete(w);
    this.dropIfEmpty(timeoutMs);
  }

  /** No timer outlives the sessions it watches. */
  private dropIfEmpty(timeoutMs: number): void {
    const bucket = this.buckets.get(timeoutMs);
    if (bucket && bucket.watches.size === 0) {
      clearInterval(bucket.timer);
      this.buckets.delete(timeoutMs);
    }
  }

  private sweep(timeoutMs: number, watches: Set<IdleWatch>, step: number): void {
    for (const w of watches) {
      if (w.active) {
        w.active = false;
        w.idleMs = 0;
      } else if ((w.idleMs += step) >= timeoutMs) {
        watches.delete(w);
        w.onIdle();
      }
    }
    this.dropIfEmpty(timeoutMs);
  }
}
