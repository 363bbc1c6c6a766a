// UDP backends and clients on loopback for end-to-end tests: a backend that answers with its
// name and the port the datagram came from (so a test sees which upstream socket, hence which
// session, carried it), an echo that returns each datagram as it came, a sink that counts,
// and a client that can bind any 127.x.y.z source address.
import dgram from "node:dgram";

export interface UdpBackend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  /** Datagrams received so far. */
  readonly received: Buffer[];
  close(): Promise<void>;
}

type Reply = (msg: Buffer, from: dgram.RemoteInfo) => Buffer | null;

/** `port` 0 takes any free one; another binds that port (a server coming back where it was). */
export function startUdpBackend(name: string, reply: Reply, port = 0): Promise<UdpBackend> {
  const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
  const received: Buffer[] = [];
  socket.on("message", (msg, from) => {
    received.push(msg);
    const out = reply(msg, from);
    if (out) socket.send(out, from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, "127.0.0.1", () => {
      const port = socket.address().port;
      resolve({
        name,
        port,
        address: `127.0.0.1:${port}`,
        received,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}

/** Answers `NAME FROMPORT` to every datagram. */
export const startNamedUdp = (name: string, port = 0) =>
  startUdpBackend(name, (_m, from) => Buffer.from(`${name} ${from.port}`), port);
/** Sends every datagram back as it came. */
export const startUdpEcho = (name = "echo") => startUdpBackend(name, (m) => m);
/** Takes datagrams and answers none (a syslog server). */
export const startUdpSink = (name = "sink") => startUdpBackend(name, () => null);

/** A UDP port with nothing bound to it: datagrams there draw an ICMP port unreachable. */
export async function closedUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Ports free for UDP on 127.0.0.1 right now (bound once, then released). */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => {
      const s = dgram.createSocket("udp4");
      return new Promise<dgram.Socket>((resolve) => s.bind(0, "127.0.0.1", () => resolve(s)));
    }),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export interface UdpClient {
  readonly port: number;
  send(data: Buffer | string): void;
  /** The next datagram, or null when none came within `timeoutMs`. */
  next(timeoutMs?: number): Promise<Buffer | null>;
  /** Sends and waits for the next datagram. */
  request(data: Buffer | string, timeoutMs?: number): Promise<Buffer | null>;
  onMessage(handler: (msg: Buffer) => void): void;
  close(): Promise<void>;
}

/** A client socket to `port` on 127.0.0.1, from `source` (any 127.x.y.z) and an ephemeral port. */
export async function udpClient(port: number, source = "127.0.0.1"): Promise<UdpClient> {
  const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
  const queue: Buffer[] = [];
  let waiter: ((msg: Buffer) => void) | null = null;
  let handler: ((msg: Buffer) => void) | null = null;
  socket.on("message", (msg) => {
    if (handler) return handler(msg);
    if (waiter) {
      const w = waiter;
      waiter = null;
      return w(msg);
    }
    queue.push(msg);
  });
  await new Promise<void>((resolve) => socket.bind(0, source, () => resolve()));
  const next = (timeoutMs = 2000) =>
    new Promise<Buffer | null>((resolve) => {
      const queued = queue.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => {
        waiter = null;
        resolve(null);
      }, timeoutMs);
      waiter = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
    });
  const send = (data: Buffer | string) => socket.send(typeof data === "string" ? Buffer.from(data) : data, port, "127.0.0.1");
  return {
    port: socket.address().port,
    send,
    next,
    request(data, timeoutMs) {
      send(data);
      return next(timeoutMs);
    },
    onMessage: (h) => void (handler = h),
    close: () => new Promise<void>((done) => socket.close(() => done())),
  };
}
