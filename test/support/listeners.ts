// Which processes hold a listening TCP socket on a port, read from /proc (Linux): tells workers
// that each bind the port (SO_REUSEPORT) from a master that accepts for them (node:cluster), or
// that holds their sockets for them.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import net from "node:net";

/** Inodes of the listening sockets (state 0A) on `port`, IPv4 and IPv6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1]!.split(":")[1]!, 16);
      if (localPort === port && f[3] === "0A") inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** How many listening sockets there are on `port`, whoever holds them. */
export function listeningSockets(port: number): number {
  return listeningInodes(port).size;
}

/** The listening sockets on `port` that `pid` holds, by inode. */
export function heldListeners(port: number, pid: number): Set<string> {
  const inodes = listeningInodes(port);
  const held = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    // gone
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) held.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return held;
}

/** For each pid, how many listening sockets on `port` it holds. */
export function listenersByPid(port: number, pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, heldListeners(port, pid).size]));
}

/**
 * Whether the Node running this test honours listen({reusePort}): two servers bind one port.
 * (Node 20 accepts the option and ignores it, so the second bind fails there.)
 */
export async function nodeHonoursReusePort(): Promise<boolean> {
  const listen = (port: number) =>
    new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen({ host: "127.0.0.1", port, reusePort: true }, () => resolve(s));
    });
  const first = await listen(0);
  try {
    const second = await listen((first.address() as net.AddressInfo).port);
    second.close();
    return true;
  } catch {
    return false;
  } finally {
    first.close();
  }
}
