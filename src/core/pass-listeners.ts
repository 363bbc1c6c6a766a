// Which of a config's listeners a `pass` address reaches (ngx_stream_pass_match): a TCP one of
// exactly that address and port, else a wildcard one (`*:PORT`, `0.0.0.0`, `[::]`) of the
// same family and port, as nginx finds the server of an address on a wildcard socket; a unix
// one by its path. UDP listeners never take a passed connection.
import { type ListenConfig, listenKey } from "./config/model.ts";
import type { PassAddress } from "./pass-address.ts";
import { addressBytes } from "./phases/ip-text.ts";

interface Entry {
  readonly key: string;
  readonly family: "ipv4" | "ipv6" | "unix" | "name";
  /** null: every address of the family. */
  readonly bytes: Uint8Array | null;
  readonly port: number;
  readonly path: string | null;
}

export class PassListeners {
  private readonly entries: Entry[] = [];

  constructor(listens: Iterable<ListenConfig>) {
    for (const l of listens) {
      if (l.udp) continue;
      const key = listenKey(l);
      if (l.unixPath !== undefined) {
        this.entries.push({ key, family: "unix", bytes: null, port: 0, path: l.unixPath });
        continue;
      }
      const bytes = l.host === null ? new Uint8Array(4) : addressBytes(l.host);
      const family = bytes === null ? "name" : bytes.length === 4 ? "ipv4" : "ipv6";
      const wildcard = bytes !== null && bytes.every((b) => b === 0);
      this.entries.push({ key, family, bytes: wildcard ? null : bytes, port: l.port, path: null });
    }
  }

  /** The listen key of the listener `to` reaches, or null when none does. */
  find(to: PassAddress): string | null {
    if (to.family === "unix") return this.entries.find((e) => e.family === "unix" && e.path === to.path)?.key ?? null;
    const same = this.entries.filter((e) => e.family === to.family && e.port === to.port);
    const exact = same.find((e) => e.bytes !== null && e.bytes.every((b, i) => b === to.bytes[i]));
    return (exact ?? same.find((e) => e.bytes === null))?.key ?? null;
  }
}
