// Server choice by SNI (ngx_stream_find_virtual_server), before the handshake on `listen … ssl`
// (ngx_stream_ssl_servername) and once ssl_preread has read the name: the server block the
// name chooses among those sharing the address. For the handshake the ClientHello is read
// here; it then runs with that server's certificates (or the address's default server's, when
// the chosen one has none), or is refused with `unrecognized_name` when the chosen server has
// ssl_reject_handshake on. Every byte read is handed to the handshake.
import { ReadFailure } from "../runtime.ts";
import type { ServerNames } from "../server-names.ts";
import { ClientHelloParser } from "./client-hello.ts";
import type { VariableScope } from "../variables/context.ts";
import type { PhaseSession } from "./phase.ts";

/** The other server blocks on an address; `names` gives an index into `routes`, -1 for the default. */
export interface VirtualRoutes<R> {
  readonly names: ServerNames<number>;
  readonly routes: readonly R[];
}

/** A ClientHello bigger than this is handed to the library unread (it judges it). */
const HELLO_LIMIT = 128 * 1024;

/** A fatal TLS alert, unrecognized_name (112): what nginx's servername callback makes OpenSSL send. */
export const UNRECOGNIZED_NAME_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);

/** A fatal internal_error (80): what OpenSSL sends when nginx's certificate callback fails. */
export const INTERNAL_ERROR_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]);

export type PeekResult =
  /** `complete`: the bytes are a whole ClientHello (else the library judges what they are). */
  | { readonly kind: "hello"; readonly bytes: Uint8Array; readonly serverName: string; readonly complete: boolean }
  | { readonly kind: "timeout" | "closed" };

/** Reads until the ClientHello's server name is known (or the bytes are no ClientHello). */
export async function peekServerName(s: PhaseSession, early: Uint8Array | null, deadline: number): Promise<PeekResult> {
  const parser = new ClientHelloParser(HELLO_LIMIT);
  let buffered = early ?? new Uint8Array(0);
  for (;;) {
    if (buffered.length > 0) {
      const r = parser.parse(buffered);
      if (r.kind === "done") return { kind: "hello", bytes: buffered, serverName: r.vars.serverName, complete: true };
      // Not a ClientHello, or too big to read here: the library's handshake says what is wrong.
      if (r.kind !== "need-more") return { kind: "hello", bytes: buffered, serverName: "", complete: false };
    }
    const left = deadline - Date.now();
    if (left <= 0) return { kind: "timeout" };
    let chunk: Uint8Array | null;
    try {
      chunk = await s.client.read(left);
    } catch (e) {
      return { kind: e instanceof ReadFailure && e.kind === "timeout" ? "timeout" : "closed" };
    }
    if (chunk === null) return { kind: "closed" };
    const next = new Uint8Array(buffered.length + chunk.length);
    next.set(buffered);
    next.set(chunk, buffered.length);
    buffered = next;
  }
}

/**
 * The route the client's server name chooses among the address's others, or null for the
 * default server (no name, an invalid one, or none matching); a regex server name that
 * matched leaves its captures in the session's variables.
 */
export function findVirtualRoute<R>(
  virtual: VirtualRoutes<R> | null | undefined,
  serverName: string,
  scope: () => VariableScope,
): R | null {
  if (!virtual) return null;
  const host = sniHost(serverName);
  const index = host === null ? null : virtual.names.find(host, scope);
  return index === null || index < 0 ? null : virtual.routes[index]!;
}

/** ngx_stream_validate_host's verdict on an SNI name: the lower-cased host, or null to ignore it. */
export function sniHost(name: string): string | null {
  const host = name.toLowerCase().replace(/\.$/, "");
  if (host === "" || host.startsWith(".") || host.includes("..") || /[\/\\\0]/.test(host)) return null;
  return host;
}
