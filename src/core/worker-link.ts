// A worker's end of its channel to the master, for the state workers share: it routes what
// the master sends (health verdicts, the other workers' peer state, counter answers, status
// asks) and asks the master for the other workers' status parts.
import type { WorkerSide } from "./runtime.ts";
import { RemoteCounters } from "./shared-counters.ts";
import type { PeerShareMessage } from "./shared-peers.ts";
import type { WorkerMessage } from "./worker-messages.ts";
import { STATUS_GATHER_MS } from "./worker-hub.ts";

export interface WorkerLinkHandlers {
  health(m: Extract<WorkerMessage, { type: "health" }>): void;
  /** This generation's TLS secret (tls-secret.ts). */
  tlsSecret(m: Extract<WorkerMessage, { type: "tls-secret" }>): void;
  peers(m: PeerShareMessage): void;
  /** This worker's own status snapshot; null before it runs a config. */
  report(): unknown;
}

export class WorkerLink {
  readonly counters: RemoteCounters;
  private readonly asks = new Map<number, (parts: readonly unknown[]) => void>();
  private nextAsk = 1;
  private closed = false;

  constructor(private readonly side: WorkerSide) {
    this.counters = new RemoteCounters((m) => side.send(m));
  }

  get index(): number {
    return this.side.index;
  }

  send(m: WorkerMessage): void {
    this.side.send(m);
  }

  /** Starts taking the master's messages (once the config is applied: they name its upstreams). */
  listen(handlers: WorkerLinkHandlers, onClose: () => void): void {
    this.side.onMessage((m) => {
      switch (m.type) {
        case "health":
          return handlers.health(m);
        case "tls-secret":
          return handlers.tlsSecret(m);
        case "conns":
        case "passive":
          return handlers.peers(m);
        case "acquired":
          return this.counters.answered(m.id, m.ok);
        case "status-report":
          return this.side.send({ type: "status-part", id: m.id, part: handlers.report() });
        case "status-parts": {
          const done = this.asks.get(m.id);
          this.asks.delete(m.id);
          return done?.(m.parts);
        }
      }
    });
    this.side.onClose(() => {
      this.closed = true;
      this.counters.close();
      for (const done of this.asks.values()) done([]);
      this.asks.clear();
      onClose();
    });
  }

  /** The other workers' status snapshots (those that answered in time). */
  otherWorkers(): Promise<readonly unknown[]> {
    if (this.closed) return Promise.resolve([]);
    const id = this.nextAsk++;
    return new Promise((resolve) => {
      // The master answers within STATUS_GATHER_MS; this bound only guards against a lost answer.
      const timer = setTimeout(() => {
        this.asks.delete(id);
        resolve([]);
      }, 2 * STATUS_GATHER_MS);
      this.asks.set(id, (parts) => {
        clearTimeout(timer);
        resolve(parts);
      });
      this.side.send({ type: "status-ask", id });
    });
  }
}
