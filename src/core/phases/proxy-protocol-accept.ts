// `listen … proxy_protocol`: the post-accept step that reads the client's PROXY header (v1 or
// v2) before any phase, as ngx_stream_proxy_protocol_handler does. nginx peeks once and
// judges that peek, so a header split across segments is broken; the first chunk read here
// is that peek. Bytes after the header are client data: the upstream gets them first.
import type { ProxyHeaderFacts } from "../variables/context.ts";
import { ReadFailure } from "../runtime.ts";
import type { Phase, PhaseSession, PhaseVerdict } from "./phase.ts";
import { type ProxyProtocolHeader, readProxyProtocol } from "./proxy-protocol.ts";

/** The header as the variables see it; null for one without addresses (nginx keeps none). */
export function proxyHeaderFacts(h: ProxyProtocolHeader): ProxyHeaderFacts | null {
  if (h.kind === "none") return null;
  return {
    srcAddr: h.srcAddr,
    srcPort: h.srcPort,
    dstAddr: h.dstAddr,
    dstPort: h.dstPort,
    tlvs: h.version === 2 ? h.tlvs : null,
  };
}

/** Reads the header within `timeoutMs` (proxy_protocol_timeout); a bad or missing one ends only this session. */
export function proxyProtocolPhase(timeoutMs: number): Phase {
  return { name: "post_accept", run: (s) => readHeader(s, timeoutMs) };
}

async function readHeader(s: PhaseSession, timeoutMs: number): Promise<PhaseVerdict> {
  // Bytes a connection `pass` handed on were, in nginx, never taken off its socket: they come first.
  let chunk: Uint8Array | null = s.takeEarlyData();
  try {
    chunk ??= await s.client.read(timeoutMs);
  } catch (err) {
    if (err instanceof ReadFailure && err.kind === "timeout") {
      s.logClientError("info", "client timed out (110: Connection timed out) while reading PROXY protocol");
    }
    // nginx finalizes a timed-out or failed read with 200: nothing was proxied.
    return 200;
  }
  if (chunk === null) return 200;
  const result = readProxyProtocol(chunk, { final: true });
  if (result.kind !== "header") {
    if (result.kind === "error" && result.log !== null) {
      s.logClientError("error", `${result.log} while reading PROXY protocol`);
    }
    return 400;
  }
  s.proxyProtocol = proxyHeaderFacts(result.header);
  if (result.consumed < chunk.length) s.keepEarlyData(chunk.subarray(result.consumed));
  return "next";
}
