// A relay's failed system call as nginx logs it (ngx_connection_error, with the proxy's log
// action and its upstream/bytes tail), so a reset or a broken pipe mid-session reads the same
// in streamlb's error log as in nginx's.
import type { LogLevel } from "./config/model.ts";
import { errnoReason } from "./errno.ts";
import type { RelayResult } from "./runtime.ts";

// The errors nginx counts as the peer's doing: logged at the connection's own level (info for
// the client's, error for the upstream's); any other errno is an alert. A null code is a
// failure the runtime gave no errno for, which nginx's err = 0 case matches.
const PEER_ERRORS: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "EPIPE",
  "ENOTCONN",
  "ETIMEDOUT",
  "ECONNREFUSED",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
]);

/** nginx's names for the calls (on Linux a TCP send is writev() via its sendfile chain). */
const CALL = { recv: "recv()", send: "writev()", shutdown: "shutdown()" } as const;

export interface RelayErrorLine {
  readonly level: LogLevel;
  /** From the call to the log action; the session appends client, server, upstream and bytes. */
  readonly text: string;
}

/** The line for a relay that ended on a failed call; null when it did not, or the runtime did not say. */
export function relayErrorLine(relay: RelayResult): RelayErrorLine | null {
  const error = relay.error;
  if (!error) return null;
  const upstreamSide = relay.end === "upstream_error";
  if (!upstreamSide && relay.end !== "client_error") return null;
  const code = error.code;
  // nginx logs a failed shutdown() on the client's connection whichever side it was for.
  const onUpstream = upstreamSide && error.op !== "shutdown";
  const level: LogLevel = code !== null && !PEER_ERRORS.has(code) ? "alert" : onUpstream ? "error" : "info";
  const reason = code === null ? "" : ` (${errnoReason(code) ?? code})`;
  const side = upstreamSide ? "upstream" : "client";
  const action = error.op === "recv"
    ? `proxying and reading from ${side}`
    : error.op === "send"
    ? `proxying and sending to ${side}`
    : "proxying connection";
  return { level, text: `${CALL[error.op]} failed${reason} while ${action}` };
}

/** nginx's stream proxy log tail: `, bytes from/to client:N/N, bytes from/to upstream:N/N`. */
export function bytesTail(relay: RelayResult): string {
  return `, bytes from/to client:${relay.bytesFromClient}/${relay.bytesToClient}, bytes from/to upstream:${relay.bytesFromUpstream}/${relay.bytesToUpstream}`;
}
