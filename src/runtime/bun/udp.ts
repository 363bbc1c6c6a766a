// UDP on Bun: Bun.udpSocket, the fastest datagram API of the three runtimes (RUNTIMES-2 §1.1).
// Sends are batched per event-loop turn (udp-batch.ts): one sendmmsg for all of a turn's
// datagrams on a socket; what the kernel refuses of a batch is dropped and counted. Every socket has an error handler: without one, Bun ends
// the process on the first ICMP port unreachable. Bun.udpSocket cannot share a port, so a
// listener that must (workers) is bound with Bun's node:dgram, which can.
import type {
  ConnectTarget,
  DatagramBindOptions,
  DatagramEvents,
  DatagramHandler,
  DatagramListener,
  DatagramSocket,
} from "../../core/runtime.ts";
import { bindDgram } from "../node/udp.ts";
import { SendBatch } from "./udp-batch.ts";

export async function bindDatagram(options: DatagramBindOptions, onDatagram: DatagramHandler): Promise<DatagramListener> {
  if (options.reusePort) return bindDgram(options, onDatagram, true);
  const socket = await Bun.udpSocket({
    hostname: options.host ?? "0.0.0.0",
    port: options.port,
    binaryType: "uint8array",
    socket: {
      data: (_s, data, port, address) => onDatagram(data, address, port),
      // A send error to one client is one lost datagram, never a crash.
      error: () => undefined,
    },
  });
  const batch = new SendBatch((p) => socket.sendMany(p), 3, (n) => options.dropped?.(n));
  return {
    host: socket.address.address,
    port: socket.port,
    send: (data, address, port) => (batch.add(data, port, address) ? "sent" : "dropped"),
    close: async () => {
      batch.flush();
      socket.close();
    },
  };
}

export async function connectDatagram(target: ConnectTarget, events: DatagramEvents): Promise<DatagramSocket> {
  const socket = await Bun.udpSocket({
    binaryType: "uint8array",
    connect: { hostname: target.host, port: target.port },
    socket: {
      data: (_s, data) => events.message(data),
      // Bun passes the error alone (the socket is `this`).
      error(this: unknown, ...args: unknown[]) {
        const err = args.find((a): a is Error & { code?: string } => a instanceof Error);
        events.error(err?.code ?? "EIO", err?.message ?? "socket error");
      },
    },
  });
  const batch = new SendBatch((p) => socket.sendMany(p as Uint8Array[]), 1, (n) => events.dropped?.(n));
  return {
    localAddress: socket.address.address,
    localPort: socket.address.port,
    send: (data) => (batch.add(data) ? "sent" : "dropped"),
    // What this turn sent still goes out: a session may end right after its last send.
    close: () => {
      batch.flush();
      socket.close();
    },
  };
}
