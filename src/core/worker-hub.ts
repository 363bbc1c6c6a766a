// The master's part in the state its workers share: it passes each worker's peer counts and
// passive failures on to the others (and keeps the counts, for a worker that starts later),
// holds the one table of shared counters (limits), and gathers every worker's status for the
// worker that serves /status. It relays no traffic and keeps nothing per session.
import { CounterTable } from "./shared-counters.ts";
import type { WorkerMessage } from "./worker-messages.ts";

export interface HubWorker {
  send(message: WorkerMessage): void;
}

/** How long a status gathering waits for a busy worker before answering without its part. */
export const STATUS_GATHER_MS = 1_000;

interface Gathering {
  readonly asker: number;
  readonly askerId: number;
  readonly waiting: Set<number>;
  readonly parts: unknown[];
  readonly timer: ReturnType<typeof setTimeout>;
}

export class WorkerHub {
  /** worker → peer key → its conns. */
  private readonly conns = new Map<number, Map<string, number>>();
  readonly counters = new CounterTable();
  private readonly gatherings = new Map<number, Gathering>();
  private nextGathering = 1;

  constructor(private readonly workers: () => ReadonlyMap<number, HubWorker>) {}

  /** Handles a worker's message; false when it is not the hub's to handle. */
  receive(from: number, m: WorkerMessage): boolean {
    switch (m.type) {
      case "conns": {
        if (!m.counts) return true;
        let mine = this.conns.get(from);
        if (!mine) this.conns.set(from, mine = new Map());
        for (const [key, n] of m.counts) {
          if (n > 0) mine.set(key, n);
          else mine.delete(key);
        }
        this.others(from, { type: "conns", worker: from, counts: m.counts });
        return true;
      }
      case "passive":
        this.others(from, m);
        return true;
      case "acquire":
        this.to(from, { type: "acquired", id: m.id, ok: this.counters.acquire(from, m.zone, m.key, m.limit) });
        return true;
      case "release":
        this.counters.release(from, m.zone, m.key);
        return true;
      case "status-ask":
        this.gather(from, m.id);
        return true;
      case "status-part": {
        const g = this.gatherings.get(m.id);
        if (g && g.waiting.delete(from)) {
          g.parts.push(m.part);
          if (g.waiting.size === 0) this.answer(m.id);
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** A worker started: it learns the others' counts before it takes a session. */
  joined(index: number): void {
    for (const [worker, counts] of this.conns) {
      if (worker !== index && counts.size) this.to(index, { type: "conns", worker, counts: [...counts] });
    }
  }

  /** A worker ended: what it counted and held is given back, and nobody waits for its part. */
  left(index: number): void {
    if (this.conns.delete(index)) this.others(index, { type: "conns", worker: index, counts: null });
    this.counters.drop(index);
    for (const [id, g] of this.gatherings) {
      if (g.asker === index) {
        clearTimeout(g.timer);
        this.gatherings.delete(id);
      } else if (g.waiting.delete(index) && g.waiting.size === 0) this.answer(id);
    }
  }

  private gather(asker: number, askerId: number): void {
    const id = this.nextGathering++;
    const waiting = new Set([...this.workers().keys()].filter((i) => i !== asker));
    const timer = setTimeout(() => this.answer(id), STATUS_GATHER_MS);
    this.gatherings.set(id, { asker, askerId, waiting, parts: [], timer });
    if (waiting.size === 0) return this.answer(id);
    for (const i of waiting) this.to(i, { type: "status-report", id });
  }

  private answer(id: number): void {
    const g = this.gatherings.get(id);
    if (!g) return;
    this.gatherings.delete(id);
    clearTimeout(g.timer);
    this.to(g.asker, { type: "status-parts", id: g.askerId, parts: g.parts });
  }

  private to(index: number, m: WorkerMessage): void {
    this.workers().get(index)?.send(m);
  }

  private others(from: number, m: WorkerMessage): void {
    for (const [i, w] of this.workers()) if (i !== from) w.send(m);
  }
}
