// Counters that hold a limit across every worker process, for limits such as limit_conn (its
// zone is nginx's shared memory zone, its key the evaluated key). A lone process counts in a
// Map. With worker processes the master keeps the one table and every acquire asks it: the
// count is exact (no two workers can both take the last unit), as nginx's shared zone and its
// mutex make it, at the cost of one round trip over the worker channel per acquire. Only the
// sessions a limit applies to pay it; the plain proxy path never calls here.
import type { CounterMessage } from "./worker-messages.ts";

export interface SharedCounters {
  /**
   * Takes one unit of `key` in `zone` when fewer than `limit` are taken now (over every
   * worker). true: taken, and release() must follow once; false: over the limit.
   */
  acquire(zone: string, key: string, limit: number): boolean | Promise<boolean>;
  /** Gives back a unit that acquire() took. */
  release(zone: string, key: string): void;
}

/** The counts, and who holds each unit, so a worker that dies gives back what it held. */
export class CounterTable {
  private readonly counts = new Map<string, number>();
  /** owner → zone\nkey → units held */
  private readonly held = new Map<number, Map<string, number>>();

  acquire(owner: number, zone: string, key: string, limit: number): boolean {
    const id = `${zone}\n${key}`;
    const n = this.counts.get(id) ?? 0;
    if (n >= limit) return false;
    this.counts.set(id, n + 1);
    let mine = this.held.get(owner);
    if (!mine) this.held.set(owner, mine = new Map());
    mine.set(id, (mine.get(id) ?? 0) + 1);
    return true;
  }

  /** A release without a matching acquire (a replayed or torn message) changes nothing. */
  release(owner: number, zone: string, key: string): void {
    const id = `${zone}\n${key}`;
    const mine = this.held.get(owner);
    const units = mine?.get(id) ?? 0;
    if (units === 0) return;
    if (units === 1) mine!.delete(id);
    else mine!.set(id, units - 1);
    this.take(id, 1);
  }

  /** Everything `owner` held (its process ended). */
  drop(owner: number): void {
    const mine = this.held.get(owner);
    if (!mine) return;
    this.held.delete(owner);
    for (const [id, units] of mine) this.take(id, units);
  }

  count(zone: string, key: string): number {
    return this.counts.get(`${zone}\n${key}`) ?? 0;
  }

  private take(id: string, units: number): void {
    const left = (this.counts.get(id) ?? 0) - units;
    if (left > 0) this.counts.set(id, left);
    else this.counts.delete(id); // keys come and go with clients: keep no zeros
  }
}

/** One process: the table is here, and answers at once. */
export class LocalCounters implements SharedCounters {
  private readonly table = new CounterTable();

  acquire(zone: string, key: string, limit: number): boolean {
    return this.table.acquire(0, zone, key, limit);
  }

  release(zone: string, key: string): void {
    this.table.release(0, zone, key);
  }

  count(zone: string, key: string): number {
    return this.table.count(zone, key);
  }
}

/** A worker's side: every acquire asks the master, which holds the table. */
export class RemoteCounters implements SharedCounters {
  private nextId = 1;
  private readonly pending = new Map<number, (ok: boolean) => void>();
  private closed = false;

  constructor(private readonly send: (message: CounterMessage) => void) {}

  acquire(zone: string, key: string, limit: number): Promise<boolean> {
    // Fail closed: without the master nobody can say the limit holds.
    if (this.closed) return Promise.resolve(false);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ type: "acquire", id, zone, key, limit });
    });
  }

  release(zone: string, key: string): void {
    if (!this.closed) this.send({ type: "release", zone, key });
  }

  /** The master's answer to an acquire. */
  answered(id: number, ok: boolean): void {
    const resolve = this.pending.get(id);
    if (!resolve) return;
    this.pending.delete(id);
    resolve(ok);
  }

  /** The channel to the master closed: what waits is refused, as is all that follows. */
  close(): void {
    this.closed = true;
    for (const resolve of this.pending.values()) resolve(false);
    this.pending.clear();
  }
}
