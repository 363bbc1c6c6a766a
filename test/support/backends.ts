// Small real backends on loopback for end-to-end tests (node:net: runs under every runner).
import net from "node:net";

export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A backend that greets every connection with `name\n` and then echoes what it gets. */
export function startNamedEcho(name: string, port = 0): Promise<Backend> {
  return startBackend(name, port, (socket) => {
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
}

export function startBackend(name: string, port: number, onConnection: (s: net.Socket) => void): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const backend = { name, port: 0, address: "", accepted: 0, close: async () => {} } as Backend;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    backend.accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    onConnection(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const p = (server.address() as net.AddressInfo).port;
      Object.assign(backend, {
        port: p,
        address: `127.0.0.1:${p}`,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
      resolve(backend);
    });
  });
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const b = await startBackend("closed", 0, (s) => s.destroy());
  await b.close();
  return b.port;
}

/** Connects, reads the first line (the backend's name), closes. */
export function firstLine(port: number, host = "127.0.0.1", localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, localAddress });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
      const nl = text.indexOf("\n");
      if (nl >= 0) {
        socket.destroy();
        resolve(text.slice(0, nl));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`connection to ${port} closed before a line arrived (got "${text}")`)));
  });
}

/** Ports free right now (bound, then released), for configs that need fixed numbers. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
