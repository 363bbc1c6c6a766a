// An in-memory datagram runtime and a hand-driven clock for UDP session tests: every socket a
// session opens is recorded, replies and ICMP errors are injected, nothing touches the network.
import type { DatagramClock } from "../../src/core/datagram-session.ts";
import type {
  ConnectTarget,
  DatagramBindOptions,
  DatagramEvents,
  DatagramHandler,
  DatagramListener,
  DatagramSendResult,
  DatagramSocket,
  Runtime,
} from "../../src/core/runtime.ts";

export interface FakeUpstreamSocket {
  readonly target: string;
  readonly sent: Uint8Array[];
  closed: boolean;
  /** What send() answers (a full socket says "dropped"). */
  sendResult: DatagramSendResult;
  reply(data: Uint8Array | string): void;
  /** An ICMP port unreachable, as adapters report it. */
  refuse(): void;
}

export interface ClientDatagram {
  readonly address: string;
  readonly port: number;
  readonly data: Uint8Array;
}

export class FakeDatagrams {
  readonly sockets: FakeUpstreamSocket[] = [];
  readonly toClients: ClientDatagram[] = [];
  listenerSendResult: DatagramSendResult = "sent";
  /** Connects wait for release() when set (a socket that opens slowly). */
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
    this.gate = null;
  }

  readonly listener: DatagramListener = {
    host: "127.0.0.1",
    port: 5300,
    send: (data, address, port) => {
      if (this.listenerSendResult === "dropped") return "dropped";
      this.toClients.push({ address, port, data });
      return "sent";
    },
    close: async () => undefined,
  };

  /** The balancer's datagram handler, once it bound the listener (a client "sends" through it). */
  deliver: DatagramHandler | null = null;

  readonly runtime: Runtime = {
    name: "node",
    version: "test",
    pid: 1,
    bindDatagram: async (_options: DatagramBindOptions, onDatagram: DatagramHandler) => {
      this.deliver = onDatagram;
      return this.listener;
    },
    connectDatagram: async (target: ConnectTarget, events: DatagramEvents): Promise<DatagramSocket> => {
      if (this.gate) await this.gate;
      const socket: FakeUpstreamSocket = {
        target: `${target.host}:${target.port}`,
        sent: [],
        closed: false,
        sendResult: "sent",
        reply: (data) => events.message(typeof data === "string" ? new TextEncoder().encode(data) : data),
        refuse: () => events.error("ECONNREFUSED", "Connection refused"),
      };
      this.sockets.push(socket);
      return {
        localAddress: "127.0.0.1",
        localPort: 40000 + this.sockets.length,
        send: (data) => {
          if (socket.sendResult === "sent") socket.sent.push(data);
          return socket.sendResult;
        },
        close: () => void (socket.closed = true),
      };
    },
  } as unknown as Runtime;
}

/** A clock that moves only when told; timers fire in order as it passes them. */
export class ManualClock implements DatagramClock {
  private ms = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  now(): number {
    return this.ms;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.ms + ms, fn, id });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.ms = next.at;
      next.fn();
    }
    this.ms = end;
  }
}

/** Lets the promise jobs of a session's start (the awaited connect) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}
