// The catalogue of nginx's built-in stream variables (ngx_stream_variables.c and the
// modules' own tables): name, nginx's cacheable flag, and a getter over the session.
// `null` is nginx's "not found" (logged `-`); "" is found but empty.
import type { UpstreamTry, VariableContext } from "./context.ts";
import { binaryAddress, unmapIPv4 } from "./ip.ts";
import { lookupHeaderTlv } from "./proxy-tlv.ts";
import { seconds, timeIso8601, timeLocal } from "./time-format.ts";

/** What a getter can reach: the session's facts and the process's. */
export interface GetterScope {
  readonly ctx: VariableContext;
  readonly hostname: string;
  readonly pid: number;
  readonly nginxVersion: string;
}

export type Getter = (scope: GetterScope, suffix: string) => string | null;

export interface BuiltinVariable {
  readonly name: string;
  /** nginx's flag: false = NGX_STREAM_VAR_NOCACHEABLE, recomputed at each evaluation. */
  readonly cacheable: boolean;
  /** The value is raw bytes (a latin1 string), not text. */
  readonly binary?: boolean;
  readonly get: Getter;
}

const port = (p: number): string => (p === 0 ? "" : String(p));

/** One value per try, `", "`-joined; not found before any try. */
function perTry(s: GetterScope, f: (t: UpstreamTry) => string): string | null {
  const tries = s.ctx.upstreamTries();
  if (tries.length === 0) return null;
  let out = f(tries[0]!);
  for (let i = 1; i < tries.length; i++) out += `, ${f(tries[i]!)}`;
  return out;
}

const time = (ms: number): string => (ms < 0 ? "-" : seconds(ms));

const C = true;
const N = false;

const SSL_NAMES = [
  "protocol",
  "cipher",
  "ciphers",
  "curve",
  "curves",
  "sigalg",
  "sigalgs",
  "session_id",
  "session_reused",
  "server_name",
  "alpn_protocol",
  "ech_status",
  "ech_outer_server_name",
  "client_cert",
  "client_raw_cert",
  "client_escaped_cert",
  "client_s_dn",
  "client_i_dn",
  "client_serial",
  "client_fingerprint",
  "client_sigalg",
  "client_verify",
  "client_v_start",
  "client_v_end",
  "client_v_remain",
];

function pp(s: GetterScope, which: "src" | "dst", part: "addr" | "port"): string | null {
  const h = s.ctx.proxyProtocol;
  const addr = h === null ? null : which === "src" ? h.srcAddr : h.dstAddr;
  if (h === null || addr === null) return null;
  return part === "addr" ? addr : port(which === "src" ? h.srcPort : h.dstPort);
}

export const BUILTIN_VARIABLES: readonly BuiltinVariable[] = [
  { name: "remote_addr", cacheable: C, get: (s) => unmapIPv4(s.ctx.remoteAddress) },
  {
    name: "binary_remote_addr",
    cacheable: C,
    binary: true,
    get: (s) => binaryAddress(unmapIPv4(s.ctx.remoteAddress)) ?? "unix:",
  },
  { name: "remote_port", cacheable: C, get: (s) => port(s.ctx.remotePort) },
  { name: "server_addr", cacheable: C, get: (s) => unmapIPv4(s.ctx.serverAddress) },
  { name: "server_port", cacheable: C, get: (s) => port(s.ctx.serverPort) },
  { name: "server_name", cacheable: C, get: (s) => s.ctx.serverName },
  { name: "protocol", cacheable: C, get: (s) => s.ctx.protocol },
  { name: "status", cacheable: N, get: (s) => String(s.ctx.status()).padStart(3, "0") },
  { name: "bytes_sent", cacheable: C, get: (s) => String(s.ctx.bytesSent()) },
  { name: "bytes_received", cacheable: C, get: (s) => String(s.ctx.bytesReceived()) },
  { name: "session_time", cacheable: N, get: (s) => seconds(s.ctx.now() - s.ctx.startMs) },
  { name: "connection", cacheable: C, get: (s) => String(s.ctx.connection) },
  { name: "nginx_version", cacheable: C, get: (s) => s.nginxVersion },
  { name: "hostname", cacheable: C, get: (s) => s.hostname },
  { name: "pid", cacheable: C, get: (s) => String(s.pid) },
  { name: "msec", cacheable: N, get: (s) => seconds(s.ctx.now()) },
  { name: "time_local", cacheable: N, get: (s) => timeLocal(s.ctx.now()) },
  { name: "time_iso8601", cacheable: N, get: (s) => timeIso8601(s.ctx.now()) },
  { name: "proxy_protocol_addr", cacheable: C, get: (s) => pp(s, "src", "addr") },
  { name: "proxy_protocol_port", cacheable: C, get: (s) => pp(s, "src", "port") },
  { name: "proxy_protocol_server_addr", cacheable: C, get: (s) => pp(s, "dst", "addr") },
  { name: "proxy_protocol_server_port", cacheable: C, get: (s) => pp(s, "dst", "port") },
  { name: "realip_remote_addr", cacheable: C, get: (s) => unmapIPv4(s.ctx.realip?.addr ?? s.ctx.remoteAddress) },
  { name: "realip_remote_port", cacheable: C, get: (s) => port(s.ctx.realip?.port ?? s.ctx.remotePort) },
  { name: "limit_conn_status", cacheable: N, get: (s) => s.ctx.limitConnStatus },
  { name: "upstream_addr", cacheable: N, get: (s) => perTry(s, (t) => t.addr) },
  { name: "upstream_bytes_sent", cacheable: N, get: (s) => perTry(s, (t) => String(t.bytesSent)) },
  { name: "upstream_bytes_received", cacheable: N, get: (s) => perTry(s, (t) => String(t.bytesReceived)) },
  { name: "upstream_connect_time", cacheable: N, get: (s) => perTry(s, (t) => time(t.connectMs)) },
  { name: "upstream_first_byte_time", cacheable: N, get: (s) => perTry(s, (t) => time(t.firstByteMs)) },
  { name: "upstream_session_time", cacheable: N, get: (s) => perTry(s, (t) => time(t.sessionMs)) },
  { name: "ssl_preread_server_name", cacheable: C, get: (s) => s.ctx.preread?.serverName ?? null },
  { name: "ssl_preread_alpn_protocols", cacheable: C, get: (s) => s.ctx.preread?.alpnProtocols ?? null },
  { name: "ssl_preread_protocol", cacheable: C, get: (s) => s.ctx.preread?.protocol ?? null },
  ...SSL_NAMES.map((n): BuiltinVariable => ({ name: `ssl_${n}`, cacheable: C, get: (s) => s.ctx.ssl(n) })),
];

/** Variables named by a prefix plus anything (nginx's NGX_STREAM_VAR_PREFIX). */
export const PREFIX_VARIABLES: readonly BuiltinVariable[] = [
  {
    name: "proxy_protocol_tlv_",
    cacheable: C,
    binary: true,
    get: (s, suffix) => {
      const r = lookupHeaderTlv(s.ctx.proxyProtocol, suffix);
      if (r.kind === "not-found") return null;
      if (r.kind === "error") {
        if (r.log !== null) s.ctx.logError(r.log);
        return "";
      }
      // Binary: one char per byte.
      let text = "";
      for (const b of r.value) text += String.fromCharCode(b);
      return text;
    },
  },
];
