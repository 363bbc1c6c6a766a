// nginx's ssl phase (ngx_stream_ssl_handler) and its checks on the other side (the proxy's
// upstream handshake): run the handshake, judge the peer's certificate as nginx does after
// it, and say what went wrong in nginx's log words.
import type { ClientConnection } from "../runtime.ts";
import { type TlsFacts, TlsHandshakeError, type TlsServerContext } from "../runtime-tls.ts";
import type { Phase, PhaseSession } from "./phase.ts";
import type { RouteTls } from "./ssl-setup.ts";
import {
  findVirtualRoute,
  INTERNAL_ERROR_ALERT,
  peekServerName,
  UNRECOGNIZED_NAME_ALERT,
  type VirtualRoutes,
} from "./ssl-sni.ts";

/** What the ssl phase needs of a route chosen by name (session.ts's Route). */
interface NamedRoute {
  readonly tls?: RouteTls | null;
}

/**
 * The ssl phase (ngx_stream_ssl_handler), after access as in nginx: the handshake, then the
 * client's TLS side replaces its socket; a failed handshake ends the session with 500.
 */
export function sslPhase<R extends NamedRoute>(tls: RouteTls, virtual: VirtualRoutes<R> | null = null): Phase {
  // Certificates chosen per handshake need the ClientHello's name before the handshake, too.
  const byName = virtual !== null || tls.settings.rejectHandshake || (tls.certificates ?? null) !== null;
  return {
    name: "ssl",
    run: async (s) => {
      // Read now: a socket a failed handshake closed no longer knows its peer.
      const remote = s.remoteAddress;
      const log = (level: "info" | "error" | "crit", message: string) => {
        if (s.logger.enabled(level)) s.logger.log(level, `*${s.id} ${message}, client: ${remote}, server: ${s.listenName}`);
        return 500 as const;
      };
      // A connection `pass` handed on keeps its TLS: no second handshake, only this server's checks.
      if (s.tlsFacts) return handshaken(s.tlsFacts, tls, log);
      let chosen = tls;
      let context: TlsServerContext | null = null;
      let early = s.takeEarlyData();
      let timeoutMs = tls.settings.handshakeTimeoutMs;
      if (byName) {
        const started = Date.now();
        const picked = await byServerName(s, tls, virtual, early, started + timeoutMs);
        if (picked.kind !== "hello") {
          return log("info", handshakeFailure(new TlsHandshakeError(picked.kind, ""), "client", "while SSL handshaking").message);
        }
        if (picked.reject) {
          await s.client.write(UNRECOGNIZED_NAME_ALERT).catch(() => {});
          s.client.close();
          return log(
            "info",
            `SSL_do_handshake() failed (SSL: error:0A0000EA:SSL routines::callback failed) while SSL handshaking`,
          );
        }
        chosen = picked.tls;
        early = picked.bytes;
        // Bytes that are no ClientHello never reach nginx's certificate callback: the library refuses them.
        if (chosen.certificates && picked.complete) {
          s.tlsServerName?.(picked.serverName);
          const choice = await chosen.certificates.choose(s.variables);
          if ("error" in choice) {
            log("error", `${choice.error} while SSL handshaking`);
            await s.client.write(INTERNAL_ERROR_ALERT).catch(() => {});
            s.client.close();
            return log(
              "info",
              `SSL_do_handshake() failed (SSL: error:0A000179:SSL routines::cert cb error) while SSL handshaking`,
            );
          }
          context = choice.context;
        }
        timeoutMs = Math.max(1, started + timeoutMs - Date.now());
      }
      const r = await handshake(chosen, s.client, early, timeoutMs, context);
      if (!r.ok) return log(r.level, r.message);
      s.useTls(r.client, r.facts);
      return "next";
    },
  };
}

/** ngx_stream_ssl_handler on a connection that has TLS already: the client certificate checks alone. */
function handshaken(facts: TlsFacts, tls: RouteTls, log: (level: "info", message: string) => 500): "next" | 500 {
  const verify = tls.settings.verifyClient;
  const error = verify === "off" ? null : clientVerifyError(facts, verify, tls.settings.verifyDepth);
  return error === null ? "next" : log("info", `${error} while initializing session`);
}

type Picked =
  | { readonly kind: "timeout" | "closed" }
  | {
    readonly kind: "hello";
    readonly bytes: Uint8Array;
    readonly reject: boolean;
    readonly tls: RouteTls;
    readonly serverName: string;
    readonly complete: boolean;
  };

/** The server block the ClientHello's name chooses (the session follows it from here on). */
async function byServerName<R extends NamedRoute>(
  s: PhaseSession,
  tls: RouteTls,
  virtual: VirtualRoutes<R> | null,
  early: Uint8Array | null,
  deadline: number,
): Promise<Picked> {
  const hello = await peekServerName(s, early, deadline);
  if (hello.kind !== "hello") return hello;
  const route = findVirtualRoute(virtual, hello.serverName, () => s.variables);
  if (route) s.chooseRoute?.(route);
  const own = route?.tls ?? null;
  // A chosen server without certificates of its own keeps the default server's (nginx keeps the SSL_CTX).
  const settings = own?.settings ?? tls.settings;
  const { bytes, serverName, complete } = hello;
  if (settings.rejectHandshake) return { kind: "hello", bytes, reject: true, tls, serverName, complete };
  return { kind: "hello", bytes, reject: false, tls: own?.server ? own : tls, serverName, complete };
}

export type SslPhaseResult =
  | { readonly ok: true; readonly client: ClientConnection; readonly facts: TlsFacts }
  | { readonly ok: false; readonly level: "info" | "crit"; readonly message: string };

/** Runs the server handshake on `client`; the message is nginx's, without the client/server tail. */
export async function handshake(
  tls: RouteTls,
  client: ClientConnection,
  early: Uint8Array | null = null,
  timeoutMs = tls.settings.handshakeTimeoutMs,
  /** The setup certificates with variables chose for this handshake; else the server's. */
  context: TlsServerContext | null = null,
): Promise<SslPhaseResult> {
  let accepted;
  try {
    accepted = await tls.support.accept(client, { context: context ?? tls.server!, timeoutMs, early });
  } catch (e) {
    return handshakeFailure(e, "client", "while SSL handshaking");
  }
  const { facts } = accepted;
  const verify = tls.settings.verifyClient;
  if (verify !== "off") {
    const error = clientVerifyError(facts, verify, tls.settings.verifyDepth);
    if (error !== null) {
      accepted.connection.close();
      return { ok: false, level: "info", message: `${error} while SSL handshaking` };
    }
  }
  return { ok: true, client: accepted.connection, facts };
}

/** A handshake that did not finish: nginx logs a timeout, a client's error at info, others at crit. */
export function handshakeFailure(
  e: unknown,
  peer: "client" | "upstream",
  stage: string,
): { ok: false; level: "info" | "crit"; message: string } {
  if (e instanceof TlsHandshakeError) {
    if (e.kind === "timeout") {
      return { ok: false, level: "info", message: `${peer} timed out (110: Connection timed out) ${stage}` };
    }
    if (e.kind === "closed") return { ok: false, level: "info", message: `peer closed connection in SSL handshake ${stage}` };
    return { ok: false, level: "info", message: `SSL_do_handshake() failed (SSL: ${e.message}) ${stage}` };
  }
  return {
    ok: false,
    level: "crit",
    message: `SSL_do_handshake() failed (${e instanceof Error ? e.message : String(e)}) ${stage}`,
  };
}

/** ngx_stream_ssl_handler's checks of a client certificate; null when it may pass. */
export function clientVerifyError(facts: TlsFacts, verify: "on" | "optional" | "optional_no_ca", depth: number): string | null {
  if (facts.peerCert === null) return verify === "on" ? `client sent no required SSL certificate` : null;
  const code = depthError(facts, depth) ?? facts.verifyError;
  if (code === null) return null;
  if (verify === "optional_no_ca" && CA_ERRORS.has(code)) return null;
  return `client SSL certificate verify error: (${x509Error(code)})`;
}

/** proxy_ssl_verify's checks once the upstream handshake finished; null when it passes. */
export function upstreamVerifyError(facts: TlsFacts, name: string, depth: number): string | null {
  const code = facts.peerCert === null ? "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" : depthError(facts, depth) ?? facts.verifyError;
  if (code !== null) return `upstream SSL certificate verify error: (${x509Error(code)})`;
  if (!facts.peerCert!.matches(name)) return `upstream SSL certificate does not match "${name}"`;
  return null;
}

function depthError(facts: TlsFacts, depth: number): string | null {
  // OpenSSL's depth counts the certificates above the peer's own, the trust anchor included.
  return facts.verifyError === null && facts.chainDepth > depth ? "CERT_CHAIN_TOO_LONG" : null;
}

/** The errors `optional_no_ca` lets through (ngx_ssl_verify_error_optional). */
const CA_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/** OpenSSL's X509_V_ERR number and text for node:tls's code, as nginx prints `(N:reason)`. */
const X509_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  UNABLE_TO_GET_ISSUER_CERT: [2, "unable to get issuer certificate"],
  UNABLE_TO_GET_CRL: [3, "unable to get certificate CRL"],
  CERT_SIGNATURE_FAILURE: [7, "certificate signature failure"],
  CRL_SIGNATURE_FAILURE: [8, "CRL signature failure"],
  CERT_NOT_YET_VALID: [9, "certificate is not yet valid"],
  CERT_HAS_EXPIRED: [10, "certificate has expired"],
  CRL_NOT_YET_VALID: [11, "CRL is not yet valid"],
  CRL_HAS_EXPIRED: [12, "CRL has expired"],
  DEPTH_ZERO_SELF_SIGNED_CERT: [18, "self-signed certificate"],
  SELF_SIGNED_CERT_IN_CHAIN: [19, "self-signed certificate in certificate chain"],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: [20, "unable to get local issuer certificate"],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: [21, "unable to verify the first certificate"],
  CERT_CHAIN_TOO_LONG: [22, "certificate chain too long"],
  CERT_REVOKED: [23, "certificate revoked"],
  INVALID_CA: [24, "invalid CA certificate"],
  INVALID_PURPOSE: [26, "unsupported certificate purpose"],
  CERT_UNTRUSTED: [27, "certificate not trusted"],
  CERT_REJECTED: [28, "certificate rejected"],
  HOSTNAME_MISMATCH: [62, "hostname mismatch"],
};

export function x509Error(code: string): string {
  const known = X509_ERRORS[code];
  return known ? `${known[0]}:${known[1]}` : `0:${code}`;
}
