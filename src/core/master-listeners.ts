// The TCP sockets a master opens once and keeps, as nginx's master does. Its workers inherit
// them and listen on them; a worker that quits (WINCH, a crash, QUIT) only drops its copy, so
// the socket and the connections queued in it live on for the next worker or, passed by USR2,
// for the new binary's. With sockets bound per worker (SO_REUSEPORT) instead, Linux resets
// what sits in a closing socket's queue: the connects a handover must not lose.
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
  private readonly held = new Map<string, Held>();
  /** The listens as the running config has them. */
  private listens = new Map<string, HeldListen>();

  constructor(private readonly processes: ProcessSupport) {}

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
          `the sessions of "listen ${l.name}" would ${l.tls ? "gain" : "lose"} TLS, which reopens its socket, and worker processes share the master's: restart, or upgrade the binary (USR2), to change it`,
        );
      }
    }
    this.listens = wanted;
    for (const [key, s] of this.held) {
      if (wanted.has(key)) continue;
      s.close();
      this.held.delete(key);
    }
    if (!openNew) return;
    const p = this.processes;
    for (const [key, l] of wanted) {
      if (this.held.has(key)) continue;
      const fd = p.takeInherited?.(key);
      if (fd !== undefined) {
        this.held.set(key, { fd, close: () => p.closeFd?.(fd) });
        continue;
      }
      try {
        this.held.set(key, p.openListener!(l.host, l.port));
      } catch (e) {
        throw new Error(`bind() to ${l.name} failed (${systemReason(e)})`);
      }
    }
    // Nobody would accept on these: close them now rather than leave clients queued forever.
    for (const fd of p.untakenInherited?.() ?? []) p.closeFd?.(fd);
  }

  /** What a worker and a new binary inherit. */
  list(): InheritedListener[] {
    return [...this.held].map(([key, s]) => ({ key, fd: s.fd }));
  }
}
