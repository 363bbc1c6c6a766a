// `listen unix:/path`: what to do with a socket file already at the path. nginx unlinks it
// before binding. Here only a stale one (nothing accepts on it) is removed: with several
// workers, a file another worker (or node:cluster's primary) is serving must stay, or the
// clients would lose the listener it belongs to. node:fs and node:net run on all three runtimes.
import { lstat, unlink } from "node:fs/promises";
import net from "node:net";

/** "live" when something accepts on `path`; otherwise any stale socket file is gone. */
export async function clearUnixPath(path: string): Promise<"clear" | "live"> {
  try {
    // Only a socket: a regular file at that path is a mistake to report (EADDRINUSE), not to delete.
    if (!(await lstat(path)).isSocket()) return "clear";
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return "clear";
    throw err;
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once("connect", () => (probe.destroy(), resolve(true)));
    probe.once("error", () => resolve(false));
  });
  if (live) return "live";
  try {
    await unlink(path);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  return "clear";
}

/**
 * A worker that binds its own sockets (SO_REUSEPORT elsewhere) cannot bind a path another
 * worker serves; the clients reach that worker instead, so this one just does not listen there.
 */
export function sharedElsewhere(path: string): { host: string; port: number; close(): Promise<void> } {
  return { host: `unix:${path}`, port: 0, close: async () => {} };
}
