// nginx's words for a failed connect to an upstream (ngx_stream_proxy_connect and the
// connection error paths), before the ", client: …, server: …, upstream: …" tail.
import { ConnectFailure } from "./runtime.ts";
import { upstreamTlsFailure } from "./upstream-tls.ts";

export function connectFailureText(err: unknown): string {
  const tlsFailure = upstreamTlsFailure(err);
  if (tlsFailure !== null) return tlsFailure;
  if (err instanceof ConnectFailure && err.kind === "timeout") {
    return "upstream timed out (110: Connection timed out) while connecting to upstream";
  }
  if (err instanceof ConnectFailure && err.kind === "refused") {
    return "connect() failed (111: Connection refused) while connecting to upstream";
  }
  const detail = err instanceof Error ? err.message : String(err);
  return `connect() failed (${detail}) while connecting to upstream`;
}
