// UDP on Node: node:dgram. A listener per `listen … udp`, a connected socket per session's
// upstream (so the kernel filters replies by peer and reports ICMP port unreachable as an
// ECONNREFUSED 'error'). send() never waits: libuv queues what the kernel refuses, so past a
// small queue a datagram is dropped and counted, as a full socket buffer would drop it.
import dgram from "node:dgram";
import { isIPv6 } from "node:net";
import { listensWithReusePort } from "./processes.ts";
import type {
  ConnectTarget,
  DatagramBindOptions,
  DatagramEvents,
  DatagramHandler,
  DatagramListener,
  DatagramSendResult,
  DatagramSocket,
} from "../../core/runtime.ts";

/** Datagrams libuv may hold for one socket before sends are dropped. */
const SEND_QUEUE_LIMIT = 256;

function typeFor(host: string | null): "udp4" | "udp6" {
  return host !== null && isIPv6(host) ? "udp6" : "udp4";
}

export function bindDatagram(options: DatagramBindOptions, onDatagram: DatagramHandler): Promise<DatagramListener> {
  // Node 22.12+ takes reusePort (the kernel keeps a client on one worker); on Node 20 workers
  // are node:cluster's and share one socket through the primary, so a client's datagrams may
  // reach several workers, as with nginx's workers without reuseport.
  return bindDgram(options, onDatagram, options.reusePort === true && listensWithReusePort());
}

/** A node:dgram listener (Bun's too, which takes reusePort where Bun.udpSocket cannot). */
export function bindDgram(
  options: DatagramBindOptions,
  onDatagram: DatagramHandler,
  reusePort: boolean,
): Promise<DatagramListener> {
  const socket = dgram.createSocket({ type: typeFor(options.host), reusePort } as dgram.SocketOptions);
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    socket.once("error", failed);
    socket.bind(options.port, options.host ?? "0.0.0.0", () => {
      socket.off("error", failed);
      // A send error (EPERM from a firewall, ENOBUFS) is one lost datagram, never a crash.
      socket.on("error", () => undefined);
      socket.on("message", (msg, rinfo) => onDatagram(msg, rinfo.address, rinfo.port));
      const bound = socket.address();
      resolve({
        host: bound.address,
        port: bound.port,
        send(data, address, port): DatagramSendResult {
          if (socket.getSendQueueCount() >= SEND_QUEUE_LIMIT) return "dropped";
          socket.send(data, port, address);
          return "sent";
        },
        close: () =>
          new Promise<void>((done) => {
            try {
              socket.close(() => done());
            } catch {
              done();
            }
          }),
      });
    });
  });
}

export function connectDatagram(target: ConnectTarget, events: DatagramEvents): Promise<DatagramSocket> {
  const socket = dgram.createSocket(typeFor(target.host));
  return new Promise((resolve, reject) => {
    let connected = false;
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (!connected) {
        connected = true;
        closeQuietly(socket);
        return reject(err);
      }
      events.error(err.code ?? "EIO", err.message);
    });
    socket.connect(target.port, target.host, () => {
      connected = true;
      socket.on("message", (msg) => events.message(msg));
      const local = socket.address();
      resolve({
        localAddress: local.address,
        localPort: local.port,
        send(data): DatagramSendResult {
          if (socket.getSendQueueCount() >= SEND_QUEUE_LIMIT) return "dropped";
          socket.send(data);
          return "sent";
        },
        close: () => closeQuietly(socket),
      });
    });
  });
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}
