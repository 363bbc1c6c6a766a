// UDP on Node: node:dgram. A listener per `listen … udp`, a connected socket per session's
// upstream (so the kernel filters replies by peer and reports ICMP port unreachable as an
// ECONNREFUSED 'error'). send() never waits: libuv queues what the kernel refuses, so past a
// small queue a datagram is dropped and counted, as a full socket buffer would drop it.
import dgram from "node:dgram";
import { lookup as dnsLookup } from "node:dns";
import { isIP, isIPv6 } from "node:net";
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

/**
 * node:dgram passes every unconnected send()'s address through dns.lookup, which answers an
 * address literal only on the next tick: one more tick and closure per reply to a client. A
 * listener replies to the address a datagram came from, always a literal, so it is answered
 * at once; a name (a listen address given as one) still goes to dns.lookup.
 */
function literalLookup(host: string, options: unknown, done: (err: Error | null, address: string, family: number) => void) {
  const family = isIP(host);
  if (family !== 0) return done(null, host, family);
  dnsLookup(host, options as number, done as never);
}

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
export async function bindDgram(
  options: DatagramBindOptions,
  onDatagram: DatagramHandler,
  reusePort: boolean,
): Promise<DatagramListener> {
  const socket = dgram.createSocket({ type: typeFor(options.host), reusePort, lookup: literalLookup } as dgram.SocketOptions);
  // A send error (EPERM from a firewall, ENOBUFS) is one lost datagram, never a crash.
  await ready(socket, (done) => socket.bind(options.port, options.host ?? "0.0.0.0", done), () => undefined);
  socket.on("message", (msg, rinfo) => onDatagram(msg, rinfo.address, rinfo.port));
  const bound = socket.address();
  return {
    host: bound.address,
    port: bound.port,
    send: (data, address, port) => bounded(socket, () => socket.send(data, port, address)),
    close: () =>
      new Promise<void>((done) => {
        try {
          socket.close(() => done());
        } catch {
          done();
        }
      }),
  };
}

export async function connectDatagram(target: ConnectTarget, events: DatagramEvents): Promise<DatagramSocket> {
  const socket = dgram.createSocket(typeFor(target.host));
  await ready(
    socket,
    (done) => socket.connect(target.port, target.host, done),
    (err: NodeJS.ErrnoException) => events.error(err.code ?? "EIO", err.message),
  );
  socket.on("message", (msg) => events.message(msg));
  const local = socket.address();
  return {
    localAddress: local.address,
    localPort: local.port,
    send: (data) => bounded(socket, () => socket.send(data)),
    close: () => closeQuietly(socket),
  };
}

/**
 * Binds or connects `socket` (`start` calls back once it is ready): an error before that
 * closes it and rejects, one after goes to `onError`.
 */
function ready(socket: dgram.Socket, start: (done: () => void) => void, onError: (err: Error) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => {
      closeQuietly(socket);
      reject(err);
    };
    socket.once("error", failed);
    start(() => {
      socket.off("error", failed);
      socket.on("error", onError);
      resolve();
    });
  });
}

/** Sends unless libuv already holds SEND_QUEUE_LIMIT datagrams for the socket. */
function bounded(socket: dgram.Socket, send: () => void): DatagramSendResult {
  if (socket.getSendQueueCount() >= SEND_QUEUE_LIMIT) return "dropped";
  send();
  return "sent";
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}
