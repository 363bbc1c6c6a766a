// One config's variables, compiled: the registry with what map, geo, split_clients and set
// define, and each server{}'s complex values (set, return, proxy_pass $var). Run when a
// config is checked (so `-t` reports a bad map or an unknown variable with its file:line) and
// again when it is applied, against the real process facts.
import { HashKey, HashKeyError } from "../balance/key.ts";
import { ConfigError } from "../config/errors.ts";
import { logFormatError } from "../config/values/log-format.ts";
import type { ServerConfig, SourceLoc, StreamConfig } from "../config/model.ts";
import { ComplexValue, hasVariables, VariableSyntaxError } from "./complex-value.ts";
import type { ProcessFacts } from "./context.ts";
import { Geo } from "./geo.ts";
import { VariableMap } from "./map.ts";
import { type ConfigWarning, VariableError, variableName, VariableRegistry } from "./registry.ts";
import { SetPhase } from "./set.ts";
import { SplitClients } from "./split-clients.ts";
import type { RateValues } from "../rate-value.ts";
import { certificatePairHasVariables } from "../config/tls-config.ts";
import { compileServerNameRegex, serverNameCaptureNames } from "../server-names.ts";

/** What a server{} evaluates per session; null members cost nothing. */
export interface ServerVariables {
  /** `set` lines (nginx's pre-access phase), or null when the server has none. */
  readonly set: SetPhase | null;
  readonly returnValue: ComplexValue | null;
  /** `proxy_pass` with variables: evaluated per session to an upstream name or host:port. */
  readonly proxyTarget: ComplexValue | null;
  /** `proxy_ssl_name` with variables: the name TLS to the upstream checks and sends, per session. */
  readonly proxySslName?: ComplexValue | null;
  /** `proxy_ssl_alpn` when any of its values has variables: each evaluated per session. */
  readonly proxySslAlpn?: readonly ComplexValue[] | null;
  /** proxy_upload_rate / proxy_download_rate with variables; null when none has any. */
  readonly rates: RateValues | null;
  /** proxy_bind with variables. */
  readonly bind?: ComplexValue | null;
  /** `pass` with variables: evaluated per session to the address of a listener. */
  readonly passTarget?: ComplexValue | null;
  /** ssl_certificate/ssl_certificate_key pairs when any has variables: evaluated per handshake. */
  readonly certificates?: readonly CertificateValues[] | null;
}

export interface CertificateValues {
  readonly cert: ComplexValue;
  readonly key: ComplexValue;
}

export interface StreamVariables {
  readonly registry: VariableRegistry;
  /** nginx's `[warn]`s from geo blocks (duplicate networks...). */
  readonly warnings: readonly ConfigWarning[];
  forServer(server: ServerConfig): ServerVariables;
  /** Each limit_conn_zone's key, by zone name. */
  readonly limitConnKeys: ReadonlyMap<string, ComplexValue>;
}

const NONE: ServerVariables = { set: null, returnValue: null, proxyTarget: null, rates: null };

/** Throws ConfigError (nginx's words, with the line when nginx names one). */
export function compileStreamVariables(
  stream: Pick<StreamConfig, "variables" | "servers" | "logFormats" | "upstreams" | "limitConnZones">,
  process?: ProcessFacts,
): StreamVariables {
  const registry = new VariableRegistry(process);
  const warnings: ConfigWarning[] = [];
  const servers = new Map<ServerConfig, ServerVariables>();
  const limitConnKeys = new Map<string, ComplexValue>();
  withLoc(null, () => {
    for (const block of stream.variables) {
      withLoc(block.loc, () => {
        const lines = block.lines.map((l) => ({ args: l.args, loc: l.loc }));
        if (block.kind === "map") VariableMap.compile(block.source!, block.variable, lines, registry, block.loc);
        else if (block.kind === "geo") {
          const args = block.source === null ? [block.variable] : [block.source, block.variable];
          warnings.push(...Geo.compile(args, lines, registry, block.loc).warnings);
        } else {
          const entries = lines.map((l) => {
            if (l.args.length !== 2) throw new VariableError(`invalid number of arguments in "split_clients" directive`, l.loc);
            return { percent: l.args[0]!, value: l.args[1]! };
          });
          SplitClients.compile(block.source!, entries, registry).define(variableName(block.variable, block.loc), registry);
        }
      });
    }
    for (const server of stream.servers) {
      // A server_name regex's named groups are variables (ngx_stream_regex_compile), set when it chooses the server.
      for (const name of server.serverNames ?? []) {
        if (!name.startsWith("~")) continue;
        const re = compileServerNameRegex(name);
        if (typeof re === "string") continue;
        for (const group of serverNameCaptureNames(re)) {
          withLoc(server.loc, () => registry.define(group, "capture", true, () => null));
        }
      }
      let set: SetPhase | null = null;
      for (const line of server.set) {
        set ??= new SetPhase();
        set.add([line.variable, line.value], registry, line.loc);
      }
      const returnValue = server.return === null ? null : compile(server.return, registry, server.loc);
      const proxyTarget = server.proxyPass !== null && hasVariables(server.proxyPass)
        ? compile(server.proxyPass, registry, server.loc)
        : null;
      const sslName = server.tls?.proxySslName ?? null;
      const proxySslName = sslName !== null && hasVariables(sslName) ? compile(sslName, registry, server.loc) : null;
      const alpn = server.tls?.proxySslAlpn ?? [];
      const proxySslAlpn = alpn.some(hasVariables) ? alpn.map((a) => compile(a, registry, server.loc)) : null;
      const rate = (v: number | string) => (typeof v === "string" ? compile(v, registry, server.loc) : null);
      const upload = rate(server.proxy.proxyUploadRate), download = rate(server.proxy.proxyDownloadRate);
      const rates = upload || download ? { upload, download } : null;
      const bind = server.proxyBind?.includes("$") ? compile(server.proxyBind, registry, server.loc) : null;
      const passTarget = server.pass !== undefined && hasVariables(server.pass)
        ? compile(server.pass, registry, server.loc)
        : null;
      const pairs = server.tls?.certificates ?? [];
      // nginx compiles every pair once any has a variable (ngx_stream_ssl_compile_certificates).
      const certificates = pairs.some(certificatePairHasVariables)
        ? pairs.map((p) => ({ cert: compile(p.cert, registry, server.loc), key: compile(p.key, registry, server.loc) }))
        : null;
      servers.set(
        server,
        set || returnValue || proxyTarget || rates || bind || proxySslName || proxySslAlpn || passTarget || certificates
          ? { set, returnValue, proxyTarget, rates, bind, proxySslName, proxySslAlpn, passTarget, certificates }
          : NONE,
      );
    }
    for (const up of stream.upstreams.values()) {
      if (up.method.kind !== "hash") continue;
      const key = up.method.key;
      withLoc(up.loc, () => {
        try {
          HashKey.compile(key, registry);
        } catch (e) {
          if (e instanceof HashKeyError) throw new VariableError(e.message);
          throw e;
        }
      });
    }
    for (const zone of stream.limitConnZones?.values() ?? []) {
      limitConnKeys.set(zone.name, compile(zone.key, registry, zone.loc));
    }
    for (const f of stream.logFormats.values()) {
      const problem = logFormatError(f.format, (name) => registry.knows(name));
      // nginx names no line for an unknown variable; the format's own line helps more.
      if (problem) throw new ConfigError(problem, f.loc);
    }
    // nginx checks every name once the whole config is read: `unknown "x" variable`.
    registry.check();
  });
  return { registry, warnings, forServer: (server) => servers.get(server) ?? NONE, limitConnKeys };
}

function compile(text: string, registry: VariableRegistry, loc: SourceLoc): ComplexValue {
  try {
    return ComplexValue.compile(text, registry);
  } catch (e) {
    if (e instanceof VariableSyntaxError) throw new VariableError(e.message, loc);
    throw e;
  }
}

/** VariableError → ConfigError at the error's own line, else the block's (null: none, as nginx). */
function withLoc(loc: SourceLoc | null, run: () => void): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof VariableError)) throw e;
    const at = e.loc ? { file: e.loc.file, line: e.loc.line, col: 0 } : loc;
    throw new ConfigError(e.message, at);
  }
}
