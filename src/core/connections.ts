// nginx's worker_connections, per process: every socket a worker holds counts against it —
// each listener, the channel to the master when there is one (nginx's ngx_channel), and both
// ends of every session: the client from accept, the upstream from its connect. When none is
// left, a new client is closed at once and a session that cannot open its upstream ends with
// $status 500, each with nginx's [alert]. The alert is rate-limited so a flood cannot fill
// the disk.
import { DEFAULT_WORKER_CONNECTIONS } from "./config/schema/main.ts";
import type { Logger } from "./log.ts";

/** Time, injected so the once-a-second alert can be tested without waiting. */
export interface AlertClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
}

export const systemAlertClock: AlertClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
};

const ALERT_INTERVAL_MS = 1000;

export class ConnectionBudget {
  /** Sockets of sessions (clients and upstreams) open now. */
  private live = 0;
  /** Listeners, plus the master channel in a worker: held for as long as the config runs. */
  private fixed = 0;
  private limit = DEFAULT_WORKER_CONNECTIONS;
  private lastAlertMs = -Infinity;
  private suppressed = 0;
  private flushPending = false;

  constructor(
    private readonly logger: Logger,
    /** A worker under a master holds one more socket: its channel. */
    private readonly channel: boolean,
    private readonly clock: AlertClock = systemAlertClock,
  ) {}

  /** A config was applied: its limit, and how many listeners are open. */
  configure(limit: number, listeners: number): void {
    this.limit = limit;
    this.fixed = listeners + (this.channel ? 1 : 0);
  }

  get used(): number {
    return this.fixed + this.live;
  }

  /** Takes one socket for a session; false when none is left (then call notEnough()). */
  take(): boolean {
    if (this.fixed + this.live < this.limit) {
      this.live++;
      return true;
    }
    return false;
  }

  release(): void {
    this.live--;
  }

  /**
   * nginx's alert after a take() that found nothing: `${tag}16 worker_connections are not
   * enough${context}`. The first of a second is logged at once, the rest counted and reported
   * in one line when the second is over. The caller builds the context only now, never on
   * the path where a socket was there.
   */
  notEnough(tag: string, context: string): void {
    const now = this.clock.now();
    if (now - this.lastAlertMs >= ALERT_INTERVAL_MS) {
      this.lastAlertMs = now;
      this.logger.log("alert", `${tag}${this.limit} worker_connections are not enough${context}`);
      return;
    }
    this.suppressed++;
    if (this.flushPending) return;
    this.flushPending = true;
    this.clock.setTimer(() => {
      this.flushPending = false;
      const n = this.suppressed;
      this.suppressed = 0;
      this.lastAlertMs = this.clock.now();
      this.logger.log(
        "alert",
        `${this.limit} worker_connections are not enough (${n} more time${n === 1 ? "" : "s"} in the last second)`,
      );
    }, this.lastAlertMs + ALERT_INTERVAL_MS - now);
  }
}
