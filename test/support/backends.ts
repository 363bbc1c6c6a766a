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

/**
 * A listener whose accept queue is full, so a connect to it hangs until the connector's own
 * timeout (proxy_connect_timeout), all on loopback. A child process listens with backlog 1
 * and then blocks its event loop (Atomics.wait, no CPU), so it never accepts; two raw
 * connects fill the queue and Linux drops the SYNs that follow.
 */
export async function startUnaccepting(): Promise<{ address: string; port: number; close(): Promise<void> }> {
  const { spawn } = await import("node:child_process");
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:net").createServer();
       s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
         process.stdout.write(s.address().port + "\\n");
         setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 20);
       });`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
    child.once("error", reject);
  });
  await new Promise((r) => setTimeout(r, 100));
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => undefined);
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of fillers) s.destroy();
      child.kill("SIGKILL");
    },
  };
}
