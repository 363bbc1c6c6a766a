// ssl_preread (ngx_stream_ssl_preread_module) in the preread phase: reads the client's
// ClientHello across reads, bounded by preread_buffer_size and one preread_timeout deadline,
// for $ssl_preread_server_name/_alpn_protocols/_protocol. Every byte read goes to the
// upstream first, as read; data that is not TLS leaves the variables not found. The name read
// chooses the server block among those sharing the address, as the handshake's SNI does.
import { ReadFailure } from "../runtime.ts";
import { ClientHelloParser } from "./client-hello.ts";
import type { Phase, PhaseSession, PhaseVerdict } from "./phase.ts";

export interface PrereadLimits {
  readonly bufferSize: number;
  readonly timeoutMs: number;
}

export function sslPrereadPhase(limits: PrereadLimits): Phase {
  return { name: "preread", run: (s) => preread(s, limits) };
}

async function preread(s: PhaseSession, limits: PrereadLimits): Promise<PhaseVerdict> {
  const parser = new ClientHelloParser(limits.bufferSize);
  const deadline = Date.now() + limits.timeoutMs;
  // Bytes that came after a PROXY header are the first the hello is read from.
  let buffered: Uint8Array = s.takeEarlyData() ?? new Uint8Array(0);
  for (let first = true;; first = false) {
    if (!first || buffered.length === 0) {
      const left = deadline - Date.now();
      // preread_timeout ends the session silently with 200, as does EOF or a read error.
      if (left <= 0) return 200;
      let chunk: Uint8Array | null;
      try {
        chunk = await s.client.read(left);
      } catch (err) {
        return err instanceof ReadFailure ? 200 : 500;
      }
      if (chunk === null) return 200;
      buffered = append(buffered, chunk);
    }
    const result = parser.parse(buffered);
    switch (result.kind) {
      case "need-more":
        // What nginx would show meanwhile (empty values), were the session to end now.
        s.preread = result.vars;
        continue;
      case "buffer-full":
        s.logClientError("error", `${result.log} while prereading client data`);
        return 400;
      case "done":
        s.preread = result.vars;
        s.keepEarlyData(buffered);
        // nginx 1.25.5+: the name also chooses the server block (its content, logs and settings).
        if (result.vars.serverName !== "") s.chooseServerByName?.(result.vars.serverName);
        return "next";
      case "not-tls":
        s.preread = null;
        s.keepEarlyData(buffered);
        return "next";
    }
  }
}

function append(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
