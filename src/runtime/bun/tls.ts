// TLS on Bun: node:tls's setups (tls/, BoringSSL underneath) with the handshakes on Bun's native
// sockets (tls-accept.ts, tls-connect.ts), so every side of a session is a native socket and the
// native relay moves its bytes; node:tls runs only what the native handshakes do not take.
import type { TlsSupport } from "../../core/runtime.ts";
import { connect as connectOnNodeTls } from "../tls/client.ts";
import { nodeTlsSupport } from "../tls/index.ts";
import { BUN_LIMITS } from "../tls/limits.ts";
import { connectSameKind } from "../node/same-kind.ts";
import { connect } from "./tcp.ts";
import { accept } from "./tls-accept.ts";
import { connect as connectTls } from "./tls-connect.ts";
import { SocketConnection } from "../node/socket.ts";

const base = nodeTlsSupport(BUN_LIMITS);

const connectPlain = connectSameKind(connect);

export const bunTlsSupport: TlsSupport = {
  ...base,
  accept,
  // A client on node:tls (a setup the native handshake does not take) keeps a node:tls backend.
  connect: async (target, options, tls) =>
    tls === null
      ? { connection: await connectPlain(target, options), facts: null }
      : options.sameKindAs instanceof SocketConnection
      ? connectOnNodeTls(target, options, tls)
      : connectTls(target, options, tls),
};
