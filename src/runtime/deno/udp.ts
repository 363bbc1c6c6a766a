// UDP on Deno: Deno.listenDatagram, which needs --unstable-net ("unstable": ["net"] in
// deno.json). It has no connect(): a session's upstream socket is bound to an ephemeral port
// and sends with the peer's address, keeping only what comes from that peer. Deno reports no
// ICMP errors (RUNTIMES-2 §2.1), so an unreachable peer shows only as missing replies. Each
// read gets a buffer of our size: Deno's default holds 64 KiB per waiting socket.
import type {
  ConnectTarget,
  DatagramBindOptions,
  DatagramEvents,
  DatagramHandler,
  DatagramListener,
  DatagramSendResult,
  DatagramSocket,
} from "../../core/runtime.ts";

/** Sends a socket may have in flight before more are dropped (send() is a Promise on Deno). */
const IN_FLIGHT_LIMIT = 256;
/** The largest UDP payload over IPv4: a listener reads whole datagrams. */
const MAX_DATAGRAM = 65_536;

type Conn = Deno.DatagramConn;

function listenDatagram(hostname: string, port: number): Conn {
  if (typeof Deno.listenDatagram !== "function") {
    throw new Error(`"listen … udp" on Deno needs --unstable-net (or "unstable": ["net"] in deno.json)`);
  }
  return Deno.listenDatagram({ transport: "udp", hostname, port });
}

/** Sends without waiting, within a bound of sends in flight. */
function sender(conn: Conn): (data: Uint8Array, hostname: string, port: number) => DatagramSendResult {
  let inFlight = 0;
  const settled = () => void inFlight--;
  return (data, hostname, port) => {
    if (inFlight >= IN_FLIGHT_LIMIT) return "dropped";
    inFlight++;
    conn.send(data, { transport: "udp", hostname, port }).then(settled, settled);
    return "sent";
  };
}

/** Reads datagrams into one reused buffer until the socket closes; each is copied out. */
async function readLoop(conn: Conn, size: number, each: (data: Uint8Array, addr: Deno.NetAddr) => void): Promise<void> {
  const buffer = new Uint8Array(size);
  for (;;) {
    let received: [Uint8Array, Deno.Addr];
    try {
      received = await conn.receive(buffer);
    } catch {
      return; // closed (or an error Deno gives no more detail on): the socket is done
    }
    const [data, addr] = received;
    each(data.slice(), addr as Deno.NetAddr);
  }
}

/** One bound socket: reads into one reused buffer of `readSize` until closed, each datagram copied out. */
function openSocket(hostname: string, port: number, readSize: number, each: (data: Uint8Array, from: Deno.NetAddr) => void) {
  const conn = listenDatagram(hostname, port);
  void readLoop(conn, readSize, each);
  let closed = false;
  return {
    addr: conn.addr as Deno.NetAddr,
    send: sender(conn),
    close(): void {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}

export async function bindDatagram(options: DatagramBindOptions, onDatagram: DatagramHandler): Promise<DatagramListener> {
  // Checked on Deno 2.9.5: a second listenDatagram with `reusePort: true` fails with
  // EADDRINUSE (Deno sets no SO_REUSEPORT), and with `reuseAddress: true` it binds but the
  // last binder receives every datagram (50 of 50 from 50 source ports), so workers would
  // starve; node:dgram's reusePort fails the same way. Refused, then, not degraded.
  if (options.reusePort) {
    throw new Error(`"listen … udp" with several workers or reuseport is not possible on Deno: it cannot share a UDP port`);
  }
  const socket = openSocket(
    options.host ?? "0.0.0.0",
    options.port,
    MAX_DATAGRAM,
    (data, from) => onDatagram(data, from.hostname, from.port),
  );
  return {
    host: socket.addr.hostname,
    port: socket.addr.port,
    send: socket.send,
    close: async () => socket.close(),
  };
}

export async function connectDatagram(
  target: ConnectTarget,
  events: DatagramEvents,
  bufferSize = MAX_DATAGRAM,
): Promise<DatagramSocket> {
  // Only the peer's replies, as a connected socket would filter them (by port alone when the
  // server is named by a host name, which Deno resolves on each send).
  const literal = /^[\d.]+$|:/.test(target.host);
  const socket = openSocket(target.host.includes(":") ? "::" : "0.0.0.0", 0, Math.min(bufferSize, MAX_DATAGRAM), (data, from) => {
    if (from.port === target.port && (!literal || from.hostname === target.host)) events.message(data);
  });
  return {
    localAddress: socket.addr.hostname,
    localPort: socket.addr.port,
    send: (data) => socket.send(data, target.host, target.port),
    close: socket.close,
  };
}
