// Upstream sockets of the client's kind. A client on a net.Socket (a listener whose clients may
// take TLS) is relayed by the net.Socket pipe, which needs a net.Socket upstream too; the
// runtime's own fast sockets (TCP handles, Bun's and Deno's native ones) pair only with theirs.
import type { Runtime, UpstreamConnection } from "../../core/runtime.ts";
import { toConnectFailure } from "./connect.ts";
import { connectSocket, SocketConnection } from "./socket.ts";

export function connectSameKind(fast: Runtime["connect"]): Runtime["connect"] {
  return (target, options) =>
    options.sameKindAs instanceof SocketConnection
      ? connectSocket(target, options, toConnectFailure) as unknown as Promise<UpstreamConnection>
      : fast(target, options);
}
