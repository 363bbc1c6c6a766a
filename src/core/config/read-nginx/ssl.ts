// The ssl_* and proxy_ssl_* directives streamlb runs, in stream{} and server{}, with nginx's
// values and messages; then nginx's merge and the checks it makes once a server is merged.
// The TLS directives not here stay refused ("not supported yet") by the reader.
import { ConfigError } from "../errors.ts";
import type { ListenConfig } from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";
import { DEFAULT_TLS } from "../tls-config.ts";
import type { ServerTlsConfig } from "../model.ts";
import { parseTime } from "../values/units.ts";
import type { TlsProtocol } from "../model.ts";
import type { ReaderContext } from "./context.ts";
import { flag } from "./values.ts";
import { TLS_FIELDS, type TlsSpecial, type TlsValueKind, VERIFY_CLIENT_VALUES } from "../schema/tls-fields.ts";

export type TlsOverrides = { -readonly [K in keyof ServerTlsConfig]?: ServerTlsConfig[K] } & {
  /** ssl_certificate and ssl_certificate_key of this level, each in order (paired when merged). */
  certs?: string[];
  keys?: string[];
};

export const TLS_PROTOCOLS: readonly TlsProtocol[] = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

type Setter = (cx: ReaderContext, d: NginxDirective, into: TlsOverrides) => void;

const text = (field: keyof ServerTlsConfig): Setter => (_cx, d, into) =>
  void ((into as Record<string, unknown>)[field] = d.args[0]!);
const onOff = (field: keyof ServerTlsConfig): Setter => (cx, d, into) =>
  void ((into as Record<string, unknown>)[field] = flag(cx, d));
const time = (field: keyof ServerTlsConfig, unit: "ms" | "s"): Setter => (cx, d, into) => {
  const v = parseTime(d.args[0]!, unit);
  if (v === null) cx.fail(d, `"${d.name}" directive invalid value`);
  (into as Record<string, unknown>)[field] = v;
};
const depth = (field: keyof ServerTlsConfig): Setter => (cx, d, into) => {
  if (!/^\d+$/.test(d.args[0]!)) cx.fail(d, `invalid number "${d.args[0]}"`);
  (into as Record<string, unknown>)[field] = Number(d.args[0]);
};
const path = (field: keyof ServerTlsConfig): Setter => (cx, d, into) => {
  noVariables(cx, d);
  (into as Record<string, unknown>)[field] = d.args[0]!;
};
const protocols = (field: keyof ServerTlsConfig): Setter => (cx, d, into) => {
  const list: TlsProtocol[] = [];
  for (const a of d.args) {
    const p = TLS_PROTOCOLS.find((x) => x.toLowerCase() === a.toLowerCase());
    if (!p) return cx.fail(d, `invalid value "${a}"`);
    list.push(p);
  }
  (into as Record<string, unknown>)[field] = list;
};

function noVariables(cx: ReaderContext, d: NginxDirective): void {
  if (d.args.some((a) => a.includes("$"))) cx.fail(d, `"${d.name}" with variables is not supported yet`);
}

const KIND_SETTERS: Record<TlsValueKind, (field: keyof ServerTlsConfig) => Setter> = {
  text,
  flag: onOff,
  path,
  depth,
  protocols,
  seconds: (field) => time(field, "s"),
  milliseconds: (field) => time(field, "ms"),
};

const SPECIAL_SETTERS: Record<TlsSpecial, Setter> = {
  // Variables are evaluated per handshake (phases/ssl-certificates.ts).
  certificate: (_cx, d, into) => void (into.certs ??= []).push(d.args[0]!),
  certificate_key: (_cx, d, into) => void (into.keys ??= []).push(d.args[0]!),
  // A plain path: nginx reads no variables in it.
  session_ticket_key: (_cx, d, into) => void (into.sessionTicketKeys = [...(into.sessionTicketKeys ?? []), d.args[0]!]),
  session_cache: sessionCache,
  verify_client: (cx, d, into) => {
    const v = d.args[0]!;
    if (!(VERIFY_CLIENT_VALUES as readonly string[]).includes(v)) {
      cx.fail(d, `invalid value "${v}" in "${d.name}" directive, it must be "on", "off", "optional" or "optional_no_ca"`);
    }
    into.verifyClient = v as ServerTlsConfig["verifyClient"];
  },
  alpn: (cx, d, into) => {
    for (const a of d.args) if (a.length > 255) cx.fail(d, `"ssl_alpn" directive protocol too long`);
    into.alpn = [...d.args];
  },
  proxy_alpn: (cx, d, into) => {
    // A value with variables is judged per session (empty or too long: skipped), as nginx does.
    for (const a of d.args) if (!a.includes("$") && a.length > 255) cx.fail(d, `"proxy_ssl_alpn" directive protocol too long`);
    into.proxySslAlpn = [...d.args];
  },
};

const SETTERS: ReadonlyMap<string, Setter> = new Map(
  [...TLS_FIELDS].map(([name, t]) => [name, t.kind === "special" ? SPECIAL_SETTERS[t.special] : KIND_SETTERS[t.kind](t.field)]),
);

/** Takes a TLS directive streamlb runs; false for any other. */
export function tlsDirective(cx: ReaderContext, d: NginxDirective, into: TlsOverrides): boolean {
  const set = SETTERS.get(d.name);
  if (!set) return false;
  set(cx, d, into);
  return true;
}

/** ssl_session_cache off | none | [builtin[:size]] [shared:name:size], checked as nginx does. */
function sessionCache(cx: ReaderContext, d: NginxDirective, into: TlsOverrides): void {
  const problem = sessionCacheProblem(d.args);
  if (problem) cx.fail(d, problem);
  into.sessionCache = d.args.join(" ");
}

/** nginx's message for a session cache's words it refuses; null when they are good. */
export function sessionCacheProblem(args: readonly string[]): string | null {
  for (const a of args) {
    if (args.length === 1 && (a === "off" || a === "none")) continue;
    const builtin = /^builtin(?::(\d+))?$/.exec(a);
    if (builtin) continue;
    const shared = /^shared:([^:]+):(\d+[kKmM]?)$/.exec(a);
    if (shared) {
      const n = Number(shared[2]!.replace(/[kKmM]$/, ""));
      const size = n * (/[kK]$/.test(shared[2]!) ? 1024 : /[mM]$/.test(shared[2]!) ? 1048576 : 1);
      if (size < 8 * 4096) return `session cache "${a}" is too small`;
      continue;
    }
    return `invalid session cache "${a}"`;
  }
  return null;
}

/** Whether a server has TLS settings of its own or inherited, or an ssl listener. */
export function hasTls(
  block: TlsOverrides,
  server: { readonly tls: TlsOverrides; readonly listen: readonly ListenConfig[] },
): boolean {
  return Object.keys(block).length > 0 || Object.keys(server.tls).length > 0 || server.listen.some((l) => l.ssl === true);
}

/** nginx's merge (a server's own value, else stream{}'s, else the default) and its checks. */
export function mergeTls(
  block: TlsOverrides,
  server: TlsOverrides,
  listen: readonly ListenConfig[],
): ServerTlsConfig {
  const { certs: bc, keys: bk, ...b } = block;
  const { certs: sc, keys: sk, ...s } = server;
  // The certificate lists are inherited as a whole: a server with any of its own uses only those.
  const certs = sc ?? bc ?? [];
  const keys = sc ? sk ?? [] : sk ?? bk ?? [];
  const merged: ServerTlsConfig = { ...DEFAULT_TLS, ...b, ...s, certificates: [] };
  const ssl = listen.find((l) => l.ssl === true);
  // A server that rejects every handshake it is chosen for needs no certificate.
  if (ssl && certs.length === 0 && !merged.rejectHandshake) {
    throw new ConfigError(`no "ssl_certificate" is defined for the "listen ... ssl" directive`, ssl.loc);
  }
  if (!ssl && !merged.proxySsl) return { ...merged, certificates: certs.map((cert, i) => ({ cert, key: keys[i] ?? "" })) };
  if (ssl) {
    for (let i = 0; i < certs.length; i++) {
      if (keys[i] === undefined) throw new ConfigError(`no "ssl_certificate_key" is defined for certificate "${certs[i]}"`, null);
    }
    if (merged.verifyClient !== "off" && merged.verifyClient !== "optional_no_ca") {
      if (merged.clientCertificate === null && merged.trustedCertificate === null) {
        throw new ConfigError(`no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client`, null);
      }
    }
  }
  if (merged.proxySsl) {
    if (merged.proxySslVerify && merged.proxySslTrustedCertificate === null) {
      throw new ConfigError(`no proxy_ssl_trusted_certificate for proxy_ssl_verify`, null);
    }
    if (merged.proxySslCertificate !== null && merged.proxySslCertificateKey === null) {
      throw new ConfigError(`no "proxy_ssl_certificate_key" is defined for certificate "${merged.proxySslCertificate}"`, null);
    }
  }
  return { ...merged, certificates: certs.map((cert, i) => ({ cert, key: keys[i]! })) };
}
