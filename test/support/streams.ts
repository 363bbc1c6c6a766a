// Long-lived sessions through the balancer to an echo backend (startNamedEcho) that check
// every byte comes back: counts and a SHA-256 of what was sent against what was echoed.
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { firstLine } from "./backends.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Stream {
  readonly socket: net.Socket;
  backend = "";
  sent = 0;
  echoed = 0;
  error: Error | null = null;
  closed = false;
  private readonly sentHash = createHash("sha256");
  private readonly echoedHash = createHash("sha256");
  private timer: ReturnType<typeof setInterval> | null = null;
  readonly opened: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    let head = Buffer.alloc(0);
    this.opened = new Promise((resolve, reject) => {
      this.socket.on("data", (d: Buffer) => {
        if (!this.backend) {
          head = Buffer.concat([head, d]);
          const nl = head.indexOf(10);
          if (nl < 0) return;
          this.backend = head.subarray(0, nl).toString("latin1");
          this.take(head.subarray(nl + 1));
          resolve();
          return;
        }
        this.take(d);
      });
      this.socket.on("error", (e) => {
        this.error = e;
        reject(e);
      });
    });
    this.socket.on("close", () => {
      this.closed = true;
      if (this.timer) clearInterval(this.timer);
    });
  }

  private take(d: Buffer): void {
    this.echoed += d.length;
    this.echoedHash.update(d);
  }

  /** Sends `chunkBytes` of random data every `everyMs`. */
  async start(chunkBytes = 512, everyMs = 20): Promise<this> {
    await this.opened;
    this.timer = setInterval(() => {
      if (this.closed) return;
      const chunk = randomBytes(chunkBytes);
      this.sentHash.update(chunk);
      this.socket.write(chunk);
      this.sent += chunk.length;
    }, everyMs);
    return this;
  }

  /** Stops sending, waits (bounded) for the echo to catch up, closes. */
  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (let i = 0; i < 300 && this.echoed < this.sent && !this.closed; i++) await sleep(10);
    this.socket.destroy();
  }

  /** Whether every byte sent came back, in order. Call after finish(). */
  intact(): boolean {
    return this.error === null && this.echoed === this.sent &&
      this.sentHash.copy().digest("hex") === this.echoedHash.copy().digest("hex");
  }
}

/**
 * `count` short sessions one after another (connect, read the backend's greeting, close),
 * with `pace(i)` awaited after each when given; counts the ones that failed.
 */
export async function shortSessions(
  port: number,
  count: number,
  pace?: (i: number) => Promise<unknown> | undefined,
): Promise<{ done: number; failures: number }> {
  let done = 0;
  let failures = 0;
  for (let i = 0; i < count; i++) {
    try {
      await firstLine(port);
    } catch {
      failures++;
    }
    done++;
    await pace?.(i);
  }
  return { done, failures };
}
