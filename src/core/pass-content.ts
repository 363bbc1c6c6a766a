// `pass ADDRESS` (ngx_stream_pass_module, nginx 1.25.5), the content handler that hands the
// client's connection to another listener of the same config: the session ends unlogged and
// the connection starts over there as if just accepted (its listen's PROXY header, its
// server's phases and content). This file decides where to, in nginx's words when it cannot;
// the balancer opens the session on the listener it names.
import type { ClientConnection } from "./runtime.ts";
import type { TlsFacts } from "./runtime-tls.ts";
import { parsePassAddress, type PassAddress, passSessionProblem } from "./pass-address.ts";
import type { PassListeners } from "./pass-listeners.ts";
import type { ComplexValue } from "./variables/complex-value.ts";
import type { ProxyHeaderFacts } from "./variables/context.ts";
import type { SessionVariables } from "./variables/session-variables.ts";

/** How often one connection may be passed on (NGX_STREAM_PASS_MAX_PASSES): a loop ends there. */
export const MAX_PASSES = 10;

/** A server's `pass`, compiled. */
export interface PassRoute {
  /** The address as written (judged at load); null when it has variables. */
  readonly address: PassAddress | null;
  /** The address with variables, evaluated per session. */
  readonly value: ComplexValue | null;
  /** The listeners of the config the route belongs to. */
  readonly listeners: PassListeners;
}

/** What of a connection goes on to the next session: in nginx, what the connection holds. */
export interface PassCarry {
  /** Times this connection was passed, this one included. */
  readonly passes: number;
  /** The client's socket, or its TLS side once a handshake ran (nginx keeps c->ssl). */
  readonly client: ClientConnection;
  readonly tlsFacts: TlsFacts | null;
  /** Bytes a phase read that nginx only peeked at: still unread to the next session. */
  readonly early: Uint8Array | null;
  /** $server_addr and $server_port from here on: the address passed to. */
  readonly local: { readonly addr: string; readonly port: number };
  /** The client's address as realip left it (nginx rewrote the connection's); null: the socket's. */
  readonly remote: { readonly addr: string; readonly port: number } | null;
  readonly proxyProtocol: ProxyHeaderFacts | null;
  /** Released when the connection closes, not when a session ends (limit_conn's slots). */
  readonly releases: (() => void)[] | null;
}

/** Where a passed connection goes: a listen key, and what it brings along. */
export interface PassHandover {
  readonly key: string;
  /** The address as nginx prints it (`127.0.0.1:8080`), for the log should the listener be gone. */
  readonly name: string;
  readonly carry: PassCarry;
}

/** What the handler reads of its session. */
export interface PassingSession {
  readonly variables: SessionVariables;
  logClientError(level: "error", message: string): void;
}

const ACTION = "while passing connection to port";

/**
 * The listener `pass` reaches, or the status the session ends with (logged as nginx logs it):
 * 500 for what nginx counts as its own failure, 200 when no listener has the address.
 * `passes`: how often the connection was passed before; `buffered`: client bytes were read
 * off a TLS connection (nginx could not peek at them), which cannot be handed on.
 */
export function passDestination(
  s: PassingSession,
  pass: PassRoute,
  passes: number,
  buffered: boolean,
): { readonly key: string; readonly name: string; readonly local: PassCarry["local"] } | 200 | 500 {
  if (buffered) return failed(s, "cannot pass connection with preread data");
  let address = pass.address;
  if (address === null) {
    const url = pass.value!.evaluate(s.variables);
    const parsed = parsePassAddress(url);
    const problem = passSessionProblem(parsed, url);
    if (problem !== null) return failed(s, problem);
    address = parsed as PassAddress;
  }
  if (passes >= MAX_PASSES) return failed(s, "stream pass cycle");
  const key = pass.listeners.find(address);
  if (key === null) {
    s.logClientError("error", `port not found for "${address.name}" ${ACTION}`);
    return 200;
  }
  return { key, name: address.name, local: passedLocal(address) };
}

function failed(s: PassingSession, message: string): 500 {
  s.logClientError("error", `${message} ${ACTION}`);
  return 500;
}

/** $server_addr and $server_port of the session the address starts. */
function passedLocal(address: PassAddress): { readonly addr: string; readonly port: number } {
  return address.family === "unix" ? { addr: address.name, port: 0 } : { addr: address.host, port: address.port };
}
