// Datagrams sent during one turn of Bun's event loop, handed to the kernel together by one
// sendMany (one sendmmsg) when the turn's I/O callbacks are done, instead of one system call
// each. Bun runs microtasks after every datagram callback, so the batch ends on setImmediate,
// which runs in the same turn, before the loop waits again.
// Bounded: past MAX_BATCH waiting datagrams a send is dropped, as a full socket buffer drops.
export const MAX_BATCH = 256;

export class SendBatch {
  private packets: (Uint8Array | string | number)[] = [];
  private count = 0;
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(
    private readonly sendMany: (packets: (Uint8Array | string | number)[]) => number,
    /** How many values one datagram takes in sendMany's list (1 connected, 3 with an address). */
    private readonly stride: 1 | 3,
    /** Datagrams the kernel refused when the batch went out (counted as drops). */
    private readonly refused: (n: number) => void,
  ) {}

  add(data: Uint8Array, port?: number, address?: string): boolean {
    if (this.count >= MAX_BATCH) return false;
    if (this.stride === 1) this.packets.push(data);
    else this.packets.push(data, port!, address!);
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
    return true;
  }

  flush(): void {
    this.scheduled = false;
    if (this.count === 0) return;
    const packets = this.packets;
    const count = this.count;
    this.packets = [];
    this.count = 0;
    let sent = 0;
    try {
      sent = this.sendMany(packets);
    } catch {
      // a closed socket or an error for the whole batch: nothing of it went out
    }
    if (sent < count) this.refused(count - sent);
  }
}
