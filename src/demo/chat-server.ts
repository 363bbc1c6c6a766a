// The seed's chat server, small enough to read: it greets each client, logs logins, and
// echoes what it is sent. `streamlb demo` runs two of them behind the balancer. Not the hot
// path, so it uses node:net, which Node, Deno and Bun all provide.
import net from "node:net";

export interface ChatServer {
  readonly port: number;
  close(): Promise<void>;
}

export function startChatServer(port: number, log: (line: string) => void): Promise<ChatServer> {
  const name = `chat server ${port}`;
  const server = net.createServer((socket) => {
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    log(`[${name}] new connection from ${who}`);
    socket.setNoDelay(true);
    socket.write(`welcome to ${name}; type "login NAME" or any message\n`);
    let user = "anonymous";
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        const login = /^login\s+(\S+)$/.exec(line);
        if (login) {
          user = login[1]!;
          log(`[${name}] ${user} logged in from ${who}`);
          socket.write(`${user} logged in on ${name}\n`);
        } else if (line) {
          socket.write(`[${name}] ${user}: ${line}\n`);
        }
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => log(`[${name}] ${user} (${who}) disconnected`));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
