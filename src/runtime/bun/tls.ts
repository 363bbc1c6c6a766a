// TLS on Bun: node:tls's setup (tls/, BoringSSL underneath) with the handshake on Bun's native
// sockets where it can run there (tls-accept.ts), so a terminated session's backend is a native
// socket too and the native relay moves its bytes. proxy_ssl stays on node:tls (tls/client.ts).
import type { TlsSupport } from "../../core/runtime.ts";
import { connect as connectTls } from "../tls/client.ts";
import { nodeTlsSupport } from "../tls/index.ts";
import { BUN_LIMITS } from "../tls/limits.ts";
import { connectSameKind } from "../node/same-kind.ts";
import { connect } from "./tcp.ts";
import { accept } from "./tls-accept.ts";

const base = nodeTlsSupport(BUN_LIMITS);

const connectPlain = connectSameKind(connect);

export const bunTlsSupport: TlsSupport = {
  ...base,
  accept,
  connect: async (target, options, tls) =>
    tls === null ? { connection: await connectPlain(target, options), facts: null } : connectTls(target, options, tls),
};
