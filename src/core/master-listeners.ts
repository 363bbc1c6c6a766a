// The TCP sockets a master opens once and keeps, as nginx's master does with `reuseport`: one
// per worker and listen (SO_REUSEPORT, so the kernel spreads clients over the workers; one
// socket shared by all sends a burst to whichever worker wakes first). Worker i inherits
// socket i and listens on it; a worker that quits (WINCH, a crash, QUIT) only drops its copy,
// so the socket and the connections queued in it live on for the next worker i or, passed by
// USR2, for the new binary's worker i. A socket a worker bound itself would close with it,
// and Linux resets what sits in a closing socket's queue: the connects a handover must not lose.
import type { Config } from "./config/model.ts";
import { listenKey } from "./config/model.ts";
import { formatHostPort } from "./config/values/address.ts";
import { systemReason } from "./errno.ts";
import type { InheritedListener, ProcessSupport } from "./runtime.ts";

interface Held {
  readonly fd: number;
  close(): void;
}

interface HeldListen {
  readonly host: string | null;
  readonly port: number;
  readonly name: string;
  /** TLS on either side: a worker serves such a listen on another kind of socket. */
  readonly tls: boolean;
}

/**
 * The listens a master holds: TCP on an address. A Unix-domain path is handed over by its
 * file; `udp` (each worker binds its own, SO_REUSEPORT) has no accept queue to lose.
 */
function heldListens(config: Config): Map<string, HeldListen> {
  const out = new Map<string, HeldListen>();
  for (const server of config.stream.servers) {
    for (const l of server.listen) {
      if (l.udp || l.unixPath !== undefined) continue;
      const name = formatHostPort(l.host ?? "0.0.0.0", l.port);
      out.set(listenKey(l), { host: l.host, port: l.port, name, tls: l.ssl === true || server.tls?.proxySsl === true });
    }
  }
  return out;
}

export class MasterListeners {
  /** Per listen key, socket i for worker i. */
  private readonly held = new Map<string, Held[]>();
  /** The listens as the running config has them. */
  private listens = new Map<string, HeldListen>();

  constructor(private readonly processes: ProcessSupport, private readonly count: number) {}

  /** Whether workers here can take a socket from the master (else each binds its own). */
  get supported(): boolean {
    return typeof this.processes.openListener === "function";
  }

  /**
   * At start (`openNew`): a socket for every listen, the one a binary upgrade passed when
   * there is one; inherited sockets of listens the config no longer has are closed. On reload:
   * only the sockets of listens gone are closed. Running workers cannot be handed a new
   * socket, so a listen a reload adds is bound by each worker (SO_REUSEPORT, or node:cluster).
   * Throws nginx's "bind() to ADDRESS failed (REASON)"; a reload that turns TLS on or off for
   * a held listen is refused (a worker reopens such a listener, and could only bind beside
   * the master's socket, which would then keep clients no one accepts).
   */
  apply(config: Config, openNew: boolean): void {
    if (!this.supported) return;
    const wanted = heldListens(config);
    for (const [key, l] of wanted) {
      const was = this.listens.get(key);
      if (this.held.has(key) && was && was.tls !== l.tls) {
        throw new Error(
          `the sessions of "listen ${l.name}" would ${
            l.tls ? "gain" : "lose"
          } TLS, which reopens its socket, and worker processes share the master's: restart, or upgrade the binary (USR2), to change it`,
        );
      }
    }
    this.listens = wanted;
    for (const [key, sockets] of this.held) {
      if (wanted.has(key)) continue;
      for (const s of sockets) s.close();
      this.held.delete(key);
    }
    if (!openNew) return;
    const p = this.processes;
    for (const [key, l] of wanted) {
      if (this.held.has(key)) continue;
      const sockets: Held[] = [];
      try {
        for (let i = 0; i < this.count; i++) {
          const fd = p.takeInherited?.(key);
          sockets.push(fd !== undefined ? { fd, close: () => p.closeFd?.(fd) } : p.openListener!(l.host, l.port));
        }
      } catch (e) {
        for (const s of sockets) s.close();
        throw new Error(`bind() to ${l.name} failed (${systemReason(e)})`);
      }
      this.held.set(key, sockets);
    }
    // Nobody would accept on these (fewer workers, or a listen gone): close them now rather
    // than leave clients queued in them forever.
    for (const fd of p.untakenInherited?.() ?? []) p.closeFd?.(fd);
  }

  /** What worker `index` inherits: its socket of each listen. */
  forWorker(index: number): InheritedListener[] {
    return [...this.held].map(([key, sockets]) => ({ key, fd: sockets[index]!.fd }));
  }

  /** What a new binary inherits: every socket, worker 0's of each listen first. */
  all(): InheritedListener[] {
    const out: InheritedListener[] = [];
    for (let i = 0; i < this.count; i++) out.push(...this.forWorker(i));
    return out;
  }
}
