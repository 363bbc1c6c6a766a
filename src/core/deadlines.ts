// proxy_connect_timeout for every connect in flight with one timer per timeout value instead
// of a setTimeout/clearTimeout pair per session. Connects that share a timeout are started in
// time order, so their deadlines are already sorted: a FIFO per timeout value, and one timer
// armed for the oldest deadline still pending. A connect that finishes only marks its entry;
// the timer skips marked entries when it fires. Deadlines fire at the same millisecond a
// setTimeout of their own would (nginx's timers have millisecond resolution too).

export interface Deadline {
  /** When it fires, on performance.now()'s clock. */
  readonly at: number;
  /** Cleared by cancel(), so a finished connect's closure is not kept until its deadline. */
  fire: (() => void) | null;
}

interface Lane {
  readonly timeoutMs: number;
  /** Entries in deadline order; those before `head` are gone. */
  queue: Deadline[];
  head: number;
  /** Entries in queue[head..] not cancelled. */
  live: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** expire() is calling back: add() neither arms nor compacts meanwhile. */
  firing: boolean;
}

/** Below this many entries a lane is never compacted: skipping them at the deadline is cheaper. */
const COMPACT_MIN = 1024;

export class Deadlines {
  private readonly lanes = new Map<number, Lane>();
  constructor(
    /**
     * Lets a lane's timer not hold the process up (the connects in flight do that on their
     * own). Each runtime's adapter passes its own way of doing it.
     */
    private readonly unref: (timer: ReturnType<typeof setTimeout>) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Calls `fire` once `timeoutMs` have passed, unless cancel() comes first. */
  add(timeoutMs: number, fire: () => void): Deadline {
    let lane = this.lanes.get(timeoutMs);
    if (!lane) {
      lane = { timeoutMs, queue: [], head: 0, live: 0, timer: null, firing: false };
      this.lanes.set(timeoutMs, lane);
    }
    const d: Deadline = { at: this.now() + timeoutMs, fire };
    lane.queue.push(d);
    lane.live++;
    if (lane.firing) return d;
    if (lane.timer === null) this.arm(lane, timeoutMs);
    else if (lane.queue.length - lane.head >= COMPACT_MIN && lane.live * 4 < lane.queue.length - lane.head) compact(lane);
    return d;
  }

  /** The connect finished (or failed) first: the deadline will not fire. */
  cancel(timeoutMs: number, d: Deadline): void {
    if (d.fire === null) return;
    d.fire = null;
    const lane = this.lanes.get(timeoutMs);
    if (lane) lane.live--;
  }

  /** Deadlines pending (for tests and status). */
  pending(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.live;
    return n;
  }

  private arm(lane: Lane, delayMs: number): void {
    lane.timer = setTimeout(() => this.expire(lane), Math.max(0, Math.ceil(delayMs)));
    // A lane whose connects all finished must not hold the process up until its deadline.
    this.unref(lane.timer);
  }

  private expire(lane: Lane): void {
    lane.timer = null;
    lane.firing = true;
    const now = this.now();
    let i = lane.head;
    // Fire everything due. A callback may add() to this lane (the next upstream's connect):
    // that lands behind, with a later deadline, and is looked at after.
    try {
      while (i < lane.queue.length) {
        const d = lane.queue[i]!;
        const fire = d.fire;
        if (fire !== null) {
          if (d.at > now) break;
          d.fire = null;
          lane.live--;
        }
        i++;
        lane.head = i;
        fire?.();
      }
    } finally {
      lane.firing = false;
    }
    if (lane.live === 0) {
      this.lanes.delete(lane.timeoutMs);
      return;
    }
    if (i > COMPACT_MIN && i * 2 > lane.queue.length) {
      lane.queue = lane.queue.slice(i);
      lane.head = 0;
    }
    this.arm(lane, lane.queue[lane.head]!.at - now);
  }
}

/** Drops the cancelled entries, keeping order (the live ones are a small share of many). */
function compact(lane: Lane): void {
  const kept: Deadline[] = [];
  const q = lane.queue;
  for (let i = lane.head; i < q.length; i++) if (q[i]!.fire !== null) kept.push(q[i]!);
  lane.queue = kept;
  lane.head = 0;
}
