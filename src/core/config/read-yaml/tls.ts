// The YAML spelling of TLS: each ssl_* and proxy_ssl_* directive streamlb runs is a key of
// the same name, in stream (inherited) or a server (its own), read into the same overrides
// the nginx reader fills, and merged and checked by the same code (read-nginx/ssl.ts).
import type { Node } from "yaml";
import { ConfigError } from "../errors.ts";
import type { ListenConfig, ServerTlsConfig, SourceLoc, TlsProtocol } from "../model.ts";
import { mergeTls, sessionCacheProblem, TLS_PROTOCOLS, type TlsOverrides } from "../read-nginx/ssl.ts";
import { compileServerNameRegex } from "../../server-names.ts";
import type { Entries, YamlWalker } from "./walker.ts";
import { TLS_FIELDS, type TlsSpecial, type TlsValueKind, VERIFY_CLIENT_VALUES } from "../schema/tls-fields.ts";

type Read = (w: YamlWalker, node: Node | null, key: string, into: TlsOverrides) => void;
const set = (into: TlsOverrides, field: keyof ServerTlsConfig, v: unknown) => void ((into as Record<string, unknown>)[field] = v);

const text = (field: keyof ServerTlsConfig): Read => (w, n, k, into) => set(into, field, w.string(n, k));
const flag = (field: keyof ServerTlsConfig): Read => (w, n, k, into) => set(into, field, w.flag(n, k));
const depth = (field: keyof ServerTlsConfig): Read => (w, n, k, into) => set(into, field, w.int(n, k, 0));
const time = (field: keyof ServerTlsConfig, unit: "ms" | "s"): Read => (w, n, k, into) => set(into, field, w.time(n, k, unit));
/** A file; variables in TLS paths are not run yet, as in nginx.conf. */
const path = (field: keyof ServerTlsConfig): Read => (w, n, k, into) => set(into, field, filePath(w, n, k));
const protocols = (field: keyof ServerTlsConfig): Read => (w, n, k, into) => {
  const list: TlsProtocol[] = [];
  for (const word of words(w, n, k)) {
    const p = TLS_PROTOCOLS.find((x) => x.toLowerCase() === word.toLowerCase());
    if (p === undefined) return w.fail(n, `invalid ${k} "${word}" (expected some of: ${TLS_PROTOCOLS.join(", ")})`);
    list.push(p);
  }
  set(into, field, list);
};

function filePath(w: YamlWalker, n: Node | null, k: string): string {
  const p = w.string(n, k);
  if (p.includes("$")) w.fail(n, `"${k}" with variables is not supported yet`);
  return p;
}

/** A list, or one text of words separated by spaces as nginx.conf writes them. */
function words(w: YamlWalker, n: Node | null, k: string): string[] {
  const items = w.listOrOne(n).flatMap((x) => w.string(x, k).trim().split(/\s+/)).filter((x) => x !== "");
  if (items.length === 0) w.fail(n, `${k} needs at least one value`);
  return items;
}

const KIND_READS: Record<TlsValueKind, (field: keyof ServerTlsConfig) => Read> = {
  text,
  flag,
  path,
  depth,
  protocols,
  seconds: (field) => time(field, "s"),
  milliseconds: (field) => time(field, "ms"),
};

const SPECIAL_READS: Record<TlsSpecial, Read> = {
  // Several pairs (RSA + ECDSA): a list each, paired in order, as the repeated directives are.
  // Variables are evaluated per handshake, as in nginx.conf.
  certificate: (w, n, k, into) => void (into.certs = w.listOrOne(n).map((x) => w.string(x, k))),
  certificate_key: (w, n, k, into) => void (into.keys = w.listOrOne(n).map((x) => w.string(x, k))),
  session_ticket_key: (w, n, k, into) => void (into.sessionTicketKeys = w.listOrOne(n).map((x) => w.string(x, k))),
  session_cache: (w, n, k, into) => {
    const args = words(w, n, k);
    const problem = sessionCacheProblem(args);
    if (problem) w.fail(n, problem);
    into.sessionCache = args.join(" ");
  },
  verify_client: (w, n, k, into) => {
    // `true`/`false` as YAML writes on/off.
    const raw = w.scalar(n, k);
    const v = typeof raw === "boolean" ? (raw ? "on" : "off") : String(raw);
    if (!(VERIFY_CLIENT_VALUES as readonly string[]).includes(v)) {
      w.fail(n, `invalid ${k} "${v}": it must be "on", "off", "optional" or "optional_no_ca"`);
    }
    into.verifyClient = v as ServerTlsConfig["verifyClient"];
  },
  alpn: (w, n, k, into) => {
    const list = words(w, n, k);
    if (list.some((a) => a.length > 255)) w.fail(n, `"ssl_alpn" directive protocol too long`);
    into.alpn = list;
  },
  proxy_alpn: (w, n, k, into) => {
    const list = words(w, n, k);
    if (list.some((a) => !a.includes("$") && a.length > 255)) w.fail(n, `"proxy_ssl_alpn" directive protocol too long`);
    into.proxySslAlpn = list;
  },
};

/** The same directives as nginx.conf, from the one list (schema/tls-fields.ts). */
const READS: ReadonlyMap<string, Read> = new Map(
  [...TLS_FIELDS].map(([name, t]) => [name, t.kind === "special" ? SPECIAL_READS[t.special] : KIND_READS[t.kind](t.field)]),
);

export const TLS_KEYS: readonly string[] = [...READS.keys()];

/** The TLS keys a mapping has, as nginx.conf's directives of one level would set them. */
export function yamlTlsOverrides(w: YamlWalker, e: Entries): TlsOverrides {
  const into: TlsOverrides = {};
  for (const [key, read] of READS) {
    const got = e.get(key);
    if (got) read(w, got.value, key, into);
  }
  return into;
}

/** nginx's merge and checks; their errors without a place get the server's. */
export function yamlServerTls(
  stream: TlsOverrides,
  own: TlsOverrides,
  listen: readonly ListenConfig[],
  loc: SourceLoc,
): { tls?: ServerTlsConfig } {
  const any = Object.keys(stream).length > 0 || Object.keys(own).length > 0 || listen.some((l) => l.ssl === true);
  if (!any) return {};
  try {
    return { tls: mergeTls(stream, own, listen) };
  } catch (e) {
    if (e instanceof ConfigError && e.loc === null) throw new ConfigError(e.problem, loc);
    throw e;
  }
}

/** `server_name: [example.com, "*.example.com"]`, checked as read-nginx/server-name.ts does. */
export function yamlServerNames(w: YamlWalker, node: Node | null): string[] {
  return w.listOrOne(node).map((n) => {
    const name = w.string(n, "server_name");
    if ((name.startsWith("*") && (name.length < 3 || name[1] !== ".")) || (name.startsWith(".") && name.length < 2)) {
      w.fail(n, `server name "${name}" is invalid`);
    }
    if (!name.startsWith("~")) return name.toLowerCase();
    if (name.length === 1) w.fail(n, `empty regex in server name "${name}"`);
    const compiled = compileServerNameRegex(name);
    if (typeof compiled === "string") w.fail(n, `${compiled} in server name "${name}"`);
    return name;
  });
}
