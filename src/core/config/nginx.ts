// Reads an nginx.conf, so `streamlb -c /etc/nginx/nginx.conf` runs the stream{} servers of
// the file an nginx user already has (and yaoweibin's tcp{} ones), into the same Config the
// YAML loader makes. Directives are checked against nginx's tables in file order with nginx's
// messages; the ones streamlb acts on take effect. One it does not act on is accepted, with a
// warning, only when ignoring it is provably harmless (harmless.ts); every other is an error
// ("not supported yet"), so nothing that guards access or shapes traffic is ever ignored.
// A directive nginx would reject is an error here too.
import { hashKeyError } from "../balance/key.ts";
import { parseAccessRule } from "../phases/access.ts";
import { parseHostPort } from "./address.ts";
import { parseAdminListen } from "./admin.ts";
import { COMMAND_LINE, ConfigError, formatLoc } from "./errors.ts";
import { HARMLESS_DIRECTIVES, HARMLESS_LISTEN_PARAMS } from "./harmless.ts";
import {
  BUILTIN_LOG_FORMATS,
  DEFAULT_ACCESS_LOG_FORMAT,
  emptyLogVariables,
  logFormatError,
  sameAsBuiltin,
} from "./log-format.ts";
import {
  DEFAULT_PROXY_SETTINGS,
  DEFAULT_SERVER,
  DEFAULT_WORKER_CONNECTIONS,
  LOG_LEVELS,
  type AccessLogConfig,
  type AccessRuleConfig,
  type AdminConfig,
  type BalanceMethod,
  type Config,
  type ErrorLogConfig,
  type LogEscape,
  type LogFormatConfig,
  type ListenConfig,
  type LogLevel,
  type ProxySettings,
  type ServerConfig,
  type SourceLoc,
  type UpstreamConfig,
  type UpstreamServerConfig,
} from "./model.ts";
import { directiveSpecs, knownFamilies, type Context, type DirectiveSpec } from "./nginx-directives.ts";
import { NginxHealthChecks, type HealthScope } from "./nginx-health.ts";
import { tokenizeNginx, type NginxDirective, type NginxNode } from "./nginx-tokenizer.ts";
import { parseSize, parseTime, type TimeGranularity } from "./units.ts";
import { finalizeConfig } from "./validate.ts";

/**
 * How the reader gets at `include`d files. The core cannot touch the file system itself, so
 * the caller passes this in (src/runtime/files.ts does it with node:fs).
 */
export interface ConfigFiles {
  /** The file's text; throws (with a `code` such as ENOENT, as node:fs does) when it cannot. */
  readFile(path: string): string;
  /** The paths matching a glob pattern (`*`, `?`, `[…]`), sorted; [] when nothing matches. */
  glob(pattern: string): string[];
}

/** Something accepted that has no effect, for the operator to know: `[warn] … in FILE:LINE`. */
export interface ConfigWarning {
  readonly message: string;
  readonly loc: SourceLoc | null;
}

export function formatWarning(w: ConfigWarning): string {
  return w.loc ? `${w.message} in ${formatLoc(w.loc)}` : w.message;
}

export interface NginxLoadOptions {
  /** Without it, an `include` is an error. */
  readonly files?: ConfigFiles;
  /** `-g`: main-context directives read before the file, as nginx does, from "command line". */
  readonly globals?: string;
  /** `-e`: the error log when the config names none. */
  readonly defaultErrorLog?: ErrorLogConfig;
}

export interface NginxLoadResult {
  readonly config: Config;
  readonly warnings: readonly ConfigWarning[];
}

export function loadNginxConfig(text: string, file: string, options: NginxLoadOptions = {}): NginxLoadResult {
  return new NginxReader(file, options.files ?? null).read(text, options);
}

/**
 * An upstream's `state` file: `server` lines as NGINX Plus writes them (and streamlb's admin
 * API does), with nginx's checks and messages.
 */
export function parseUpstreamState(text: string, file: string): UpstreamServerConfig[] {
  return new NginxReader(file, null).readState(text);
}

/** yaoweibin's tcp{} defaults differ from stream{}'s: `timeout` 60000 ms, `proxy_buffer` 4k. */
/** yaoweibin's tcp{} spelling of stream's settings. */
const TCP_PROXY_ALIASES: Readonly<Record<string, string>> = { timeout: "proxy_timeout", proxy_buffer: "proxy_buffer_size" };

const TCP_PROXY_SETTINGS: ProxySettings = { ...DEFAULT_PROXY_SETTINGS, proxyTimeoutMs: 60_000, proxyBufferSize: 4096 };

/** A guard against a file that includes itself (nginx would run out of file descriptors). */
const MAX_INCLUDE_DEPTH = 64;

type Family = "stream" | "tcp";
type ServerParams = { -readonly [K in keyof typeof DEFAULT_SERVER]: (typeof DEFAULT_SERVER)[K] extends boolean ? boolean : number };
type ProxyOverrides = { -readonly [K in keyof ProxySettings]?: ProxySettings[K] };

/** The access_log directives of one level (stream{} or server{}): `off` there wins over all. */
interface AccessLogLevel {
  readonly logs: AccessLogConfig[];
  off: boolean;
}

interface ServerDraft {
  readonly listen: ListenConfig[];
  readonly accessLog: AccessLogLevel;
  /** allow/deny in this server{}, in order. */
  readonly access: AccessRuleConfig[];
  proxyPass: { readonly name: string; readonly loc: SourceLoc } | null;
  readonly overrides: ProxyOverrides;
  /** health_check lines and health_check_timeout. */
  readonly health: HealthScope;
  readonly loc: SourceLoc;
}

interface BlockDraft {
  readonly family: Family;
  readonly overrides: ProxyOverrides;
  readonly accessLog: AccessLogLevel;
  /** allow/deny in stream{}, for the servers that have none of their own. */
  readonly access: AccessRuleConfig[];
  readonly servers: ServerDraft[];
  /** health_check_timeout, inherited by its servers. */
  readonly health: HealthScope;
}

class NginxReader {
  private readonly warnings: ConfigWarning[] = [];
  /** nginx's conf prefix: relative includes resolve against the main file's directory. */
  private readonly prefix: string;
  private includeDepth = 0;

  private pid: string | null = null;
  private workerProcesses: number | "auto" = 1;
  private workerShutdownTimeoutMs = 0;
  private workerConnections = DEFAULT_WORKER_CONNECTIONS;
  private masterProcess = true;
  /** Upstreams with `zone`, checked against worker_processes once the file is read. */
  private readonly zones: { readonly upstream: UpstreamConfig; readonly d: NginxDirective }[] = [];
  private errorLog: ErrorLogConfig | null = null;
  private admin: AdminConfig | null = null;
  /** log_format definitions, by name (nginx's access_log finds them case-insensitively). */
  private readonly logFormats = new Map<string, LogFormatConfig>();
  private sawEvents = false;
  private readonly upstreams: UpstreamConfig[] = [];
  /** Upstream names by their lower case: nginx matches them case-insensitively. */
  private readonly upstreamNames = new Map<string, string>();
  private readonly blocks: BlockDraft[] = [];
  private readonly health = new NginxHealthChecks({
    fail: (d, problem) => this.fail(d, problem),
    warn: (d, message) => this.warn(d, message),
    loc: (d) => this.loc(d),
  });

  constructor(
    private readonly file: string,
    private readonly files: ConfigFiles | null,
  ) {
    const slash = file.lastIndexOf("/");
    this.prefix = slash < 0 ? "" : file.slice(0, slash + 1);
  }

  read(text: string, options: NginxLoadOptions = {}): NginxLoadResult {
    const seen = new Set<string>(); // -g and the file share the main context
    const main = (d: NginxDirective, spec: DirectiveSpec) => this.main(d, spec);
    if (options.globals !== undefined) this.walk(tokenizeNginx(options.globals, COMMAND_LINE), "main", main, seen);
    this.walk(tokenizeNginx(text, this.file), "main", main, seen);
    if (!this.sawEvents) throw new ConfigError(`no "events" section in configuration`, null);
    if (this.blocks.length === 0) {
      throw new ConfigError(`no "stream" section in configuration: streamlb runs stream {} (or tcp {}) servers`, null);
    }
    const servers = this.blocks.flatMap((b) => b.servers.map((s) => this.finishServer(s, b)));
    // A health_check checks its server's proxy_pass upstream: known once every block is read.
    const checks = this.health.resolve(
      this.blocks.flatMap((b) =>
        b.servers.map((s) => ({
          scope: s.health,
          block: b.health,
          upstream: this.upstreamNames.get(s.proxyPass!.name.toLowerCase()) ?? null,
        })),
      ),
    );
    const upstreams = this.upstreams.map((u) => (checks.has(u.name) ? { ...u, healthCheck: checks.get(u.name)! } : u));
    this.checkZones();
    const config = finalizeConfig({
      file: this.file,
      pid: this.pid,
      workerProcesses: this.masterProcess ? this.workerProcesses : 1,
      workerShutdownTimeoutMs: this.workerShutdownTimeoutMs,
      workerConnections: this.workerConnections,
      errorLog: this.errorLog ?? options.defaultErrorLog ?? { path: "stderr", level: "error" },
      admin: this.admin,
      logFormats: [...this.logFormats.values()],
      upstreams,
      servers,
    });
    return { config, warnings: this.warnings };
  }

  readState(text: string): UpstreamServerConfig[] {
    const servers: UpstreamServerConfig[] = [];
    this.walk(tokenizeNginx(text, this.file), "stream_upstream", (d) => {
      if (d.name !== "server") this.fail(d, `"${d.name}" does not belong in a state file: it holds "server" lines only`);
      servers.push(this.streamUpstreamServer(d, true));
    });
    return servers;
  }

  // --- walking ---

  /** Handles a block's directives in order, each checked against nginx's tables first. */
  private walk(
    nodes: readonly NginxNode[],
    ctx: Context,
    handle: (d: NginxDirective, spec: DirectiveSpec) => void,
    seen = new Set<string>(),
  ): void {
    for (const d of this.expand(nodes)) handle(d, this.check(d, ctx, seen));
  }

  /** A block's directives with `include`s replaced by the files' directives (any context). */
  private *expand(nodes: readonly NginxNode[]): Generator<NginxDirective> {
    for (const node of nodes) {
      if (node.kind === "error") throw node.error;
      if (node.name !== "include") {
        yield node;
        continue;
      }
      this.checkShape(node, directiveSpecs("include")[0]!);
      const files = this.files;
      if (!files) this.fail(node, `"include" needs file access, which the caller of the config reader did not give`);
      if (this.includeDepth >= MAX_INCLUDE_DEPTH) this.fail(node, `too many nested includes (does a file include itself?)`);
      const target = this.resolve(node.args[0]!);
      const paths = /[*?[]/.test(target) ? this.glob(node, files, target) : [target];
      for (const path of paths) {
        let text: string;
        try {
          text = files.readFile(path);
        } catch (e) {
          this.fail(node, `open() "${path}" failed (${describeFileError(e)})`);
        }
        this.includeDepth++;
        try {
          yield* this.expand(tokenizeNginx(text, path));
        } finally {
          this.includeDepth--;
        }
      }
    }
  }

  private glob(d: NginxDirective, files: ConfigFiles, pattern: string): string[] {
    try {
      return files.glob(pattern);
    } catch (e) {
      this.fail(d, `glob() "${pattern}" failed (${describeFileError(e)})`);
    }
  }

  private resolve(path: string): string {
    return path.startsWith("/") ? path : this.prefix + path;
  }

  /** Reads through a block streamlb does not run (http{}, map{}…): includes and syntax still count. */
  private skip(nodes: readonly NginxNode[]): void {
    for (const d of this.expand(nodes)) if (d.block) this.skip(d.block);
  }

  /** ngx_conf_handler's checks, in its order: known here, `;` or `{`, argument count, duplicate, value. */
  private check(d: NginxDirective, ctx: Context, seen: Set<string>): DirectiveSpec {
    const specs = directiveSpecs(d.name);
    const spec = specs.find((s) => s.contexts.includes(ctx));
    if (!spec) {
      const families = knownFamilies(ctx);
      if (specs.some((s) => families.includes(s.family))) this.fail(d, `"${d.name}" directive is not allowed here`);
      this.fail(d, `unknown directive "${d.name}"`);
    }
    this.checkShape(d, spec);
    if (spec.unique) {
      if (seen.has(spec.slot)) this.fail(d, `"${d.name}" directive is duplicate`);
      seen.add(spec.slot);
    }
    if (spec.args === "flag") this.flag(d);
    if (d.name === "proxy_protocol" && !["on", "off", "v2"].includes(d.args[0]!.toLowerCase())) {
      // nginx 1.22's words; `v2` (1.31.4) is accepted too.
      this.fail(d, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
    }
    switch (spec.value) {
      case "time":
        this.time(d, "ms");
        break;
      case "time_s":
        this.time(d, "s");
        break;
      case "size":
        this.size(d);
        break;
      case "number":
        this.number(d);
        break;
      case null:
        break;
    }
    return spec;
  }

  private checkShape(d: NginxDirective, spec: DirectiveSpec): void {
    if (!spec.block && d.block !== null) this.fail(d, `directive "${d.name}" is not terminated by ";"`);
    if (spec.block && d.block === null) this.fail(d, `directive "${d.name}" has no opening "{"`);
    const n = d.args.length;
    const rule = spec.args;
    const valid =
      rule === "any" ||
      (rule === "flag" ? n === 1 : rule === "1more" ? n >= 1 : rule === "2more" ? n >= 2 : rule.includes(n));
    if (!valid) this.fail(d, `invalid number of arguments in "${d.name}" directive`);
  }

  // --- main, events ---

  private main(d: NginxDirective, spec: DirectiveSpec): void {
    switch (d.name) {
      case "worker_processes":
        this.workerProcesses = this.parseWorkerProcesses(d);
        return;
      case "pid":
        this.pid = d.args[0]!;
        return;
      case "master_process":
        // Off: one process serves, whatever worker_processes says (nginx's single-process mode).
        this.masterProcess = this.flag(d);
        return;
      case "worker_shutdown_timeout":
        this.workerShutdownTimeoutMs = this.time(d, "ms");
        return;
      case "error_log":
        this.mainErrorLog(d);
        return;
      case "admin":
        this.admin = this.adminDirective(d);
        return;
      case "events":
        this.sawEvents = true;
        this.walk(d.block!, "events", (e, s) => {
          if (e.name === "worker_connections") this.workerConnections = this.number(e);
          else this.ignore(e, s);
        });
        return;
      case "stream":
      case "tcp":
        this.streamBlock(d, d.name);
        return;
      case "load_module":
        // Listed as harmless too (harmless.ts); the message says which kind of module.
        this.warn(
          d,
          /stream/.test(d.args[0]!)
            ? `"load_module" is ignored: the stream module is part of streamlb`
            : `"load_module" is ignored: streamlb does not load nginx modules`,
        );
        return;
      case "http":
      case "mail":
        this.warn(d, `the "${d.name}" section is ignored: streamlb proxies TCP streams only`);
        this.skip(d.block!);
        return;
      default:
        this.ignore(d, spec);
    }
  }

  private parseWorkerProcesses(d: NginxDirective): number | "auto" {
    const v = d.args[0]!;
    if (v === "auto") return "auto";
    const n = atoi(v);
    // nginx takes any number; streamlb needs at least one worker and keeps YAML's bound.
    if (n === null || n < 1 || n > 1024) this.fail(d, `"worker_processes" directive invalid value`);
    return n;
  }

  private mainErrorLog(d: NginxDirective): void {
    const [path, ...levels] = d.args as [string, ...string[]];
    let level: LogLevel | null = null;
    for (const l of levels) {
      if ((LOG_LEVELS as readonly string[]).includes(l)) {
        if (level !== null) this.fail(d, `duplicate log level "${l}"`);
        level = l as LogLevel;
      } else if (/^debug_(core|alloc|mutex|event|http|mail|stream)$/.test(l)) {
        level = "debug";
      } else {
        this.fail(d, `invalid log level "${l}"`);
      }
    }
    const scheme = /^(syslog|memory):/.exec(path);
    if (scheme) {
      this.warn(d, `error_log to ${scheme[1]} is not supported yet and is ignored`);
      return;
    }
    if (this.errorLog) {
      this.warn(d, `streamlb writes one error log: this "error_log" is ignored, the first one is used`);
      return;
    }
    this.errorLog = { path, level: level ?? "error" };
  }

  /** streamlb's own `admin ADDRESS [token=TOKEN];`: the status, metrics and runtime API endpoint. */
  private adminDirective(d: NginxDirective): AdminConfig {
    const [address, ...params] = d.args as [string, ...string[]];
    const at = parseAdminListen(address);
    if (!at) this.fail(d, `invalid address "${address}" in "admin" directive: expected a port, host:port or [v6]:port`);
    let token: string | null = null;
    let insecure = false;
    for (const p of params) {
      // chaos branch: `insecure` allows listening beyond loopback without a token (core/admin.ts refuses it otherwise).
      if (p === "insecure") {
        insecure = true;
        continue;
      }
      if (!p.startsWith("token=") || p.length === "token=".length) this.fail(d, `invalid parameter "${p}"`);
      token = p.slice("token=".length);
    }
    return { ...at, token, ...(insecure ? { insecure } : {}), loc: this.loc(d) };
  }

  // --- stream{} and tcp{} ---

  private streamBlock(d: NginxDirective, family: Family): void {
    const block: BlockDraft = {
      family,
      overrides: {},
      accessLog: { logs: [], off: false },
      access: [],
      servers: [],
      health: this.health.scope(),
    };
    this.walk(d.block!, family, (e, spec) => {
      if (e.name === "upstream") this.upstreams.push(this.upstream(e, family));
      else if (e.name === "allow" || e.name === "deny") block.access.push(this.accessRule(e));
      else if (e.name === "server") block.servers.push(this.server(e, family));
      else if (e.name === "log_format" && family === "stream") this.logFormat(e);
      else if (e.name === "access_log" && family === "stream") this.accessLog(e, block.accessLog);
      else if (e.name === "match" && family === "stream") this.match(e);
      else if (family === "stream" && this.health.directive(e, block.health)) return;
      else if (!this.proxySetting(e, family, block.overrides)) this.ignore(e, spec);
    });
    // nginx merges each server with stream{} once the block is read, and checks it then.
    for (const s of block.servers) if (!s.proxyPass) throw new ConfigError(`no handler for server`, s.loc);
    this.blocks.push(block);
  }

  private server(d: NginxDirective, family: Family): ServerDraft {
    const s: ServerDraft = {
      accessLog: { logs: [], off: false },
      access: [],
      listen: [],
      proxyPass: null,
      overrides: {},
      health: this.health.scope(),
      loc: this.loc(d),
    };
    this.walk(d.block!, family === "stream" ? "stream_server" : "tcp_server", (e, spec) => {
      switch (e.name) {
        case "listen":
          s.listen.push(...this.listen(e, family));
          return;
        case "proxy_pass":
          s.proxyPass = { name: this.proxyPass(e), loc: this.loc(e) };
          return;
        case "health_check":
        case "health_check_timeout":
          if (family === "stream" && this.health.directive(e, s.health)) return;
          break;
        case "allow":
        case "deny":
          s.access.push(this.accessRule(e));
          return;
        case "access_log":
          if (family === "stream") {
            this.accessLog(e, s.accessLog);
            return;
          }
          break;
      }
      if (!this.proxySetting(e, family, s.overrides)) this.ignore(e, spec);
    });
    if (s.listen.length === 0) throw new ConfigError(`no "listen" is defined for server`, s.loc);
    return s;
  }

  /**
   * `allow|deny ADDRESS|CIDR|unix:|all` (ngx_stream_access_rule): checked now, compiled by
   * the access phase when the config is applied.
   */
  private accessRule(d: NginxDirective): AccessRuleConfig {
    const address = d.args[0]!;
    const parsed = parseAccessRule(address);
    if (!parsed.ok) this.fail(d, `invalid parameter "${address}"`);
    if (parsed.lowBits) this.warn(d, `low address bits of ${address} are meaningless`);
    return { action: d.name === "allow" ? "allow" : "deny", address, loc: this.loc(d) };
  }

  /**
   * `zone` shares an upstream's state between worker processes. One process shares it
   * anyway; several without shared state would each count max_conns on their own, a limit
   * other than the one written, so that is refused until issue "shared state" lands.
   */
  private checkZones(): void {
    if (this.workerProcesses === 1 || !this.masterProcess) return;
    for (const { upstream, d } of this.zones) {
      if (upstream.servers.some((s) => s.maxConns > 0)) {
        this.fail(d, `"zone" is not supported yet with worker_processes other than 1: max_conns would be counted per worker`);
      }
    }
  }

  /** NGINX Plus's `match NAME { send ...; expect ...; }`, for health_check match=NAME. */
  private match(d: NginxDirective): void {
    const body: NginxDirective[] = [];
    this.walk(d.block!, "stream_match", (e) => body.push(e));
    this.health.match(d, body);
  }

  /** `log_format NAME [escape=default|json|none] STRING...` (ngx_stream_log_set_format). */
  private logFormat(d: NginxDirective): void {
    const [name, ...rest] = d.args as [string, ...string[]];
    if (this.logFormats.has(name)) this.fail(d, `duplicate "log_format" name "${name}"`);
    let escape: LogEscape = "default";
    if (rest[0]?.startsWith("escape=")) {
      const value = rest.shift()!.slice("escape=".length);
      if (value !== "default" && value !== "json" && value !== "none") this.fail(d, `unknown log format escaping "${value}"`);
      escape = value;
    }
    const format = rest.join("");
    const problem = logFormatError(format);
    if (problem) this.fail(d, problem);
    const empty = emptyLogVariables(format);
    if (empty.length) {
      this.warn(d, `streamlb has no value for ${empty.map((v) => `"$${v}"`).join(", ")} yet: it is logged as "-"`);
    }
    // A copy of a built-in format (what `streamlb convert` writes for nginx) is that format.
    if (sameAsBuiltin(name, escape, format)) return;
    this.logFormats.set(name, { name, escape, format, loc: this.loc(d) });
  }

  /** `access_log PATH [FORMAT] [buffer=SIZE] [flush=TIME] [gzip[=N]] [if=COND]` or `access_log off`. */
  private accessLog(d: NginxDirective, level: AccessLogLevel): void {
    const [path, ...params] = d.args as [string, ...string[]];
    if (path === "off") {
      if (params.length > 0) this.fail(d, `invalid parameter "${params[0]}"`);
      level.off = true;
      return;
    }
    // nginx requires the format; streamlb falls back to the built-in "basic".
    let format = DEFAULT_ACCESS_LOG_FORMAT;
    if (params.length > 0 && !/^(buffer=|flush=|gzip(=|$)|if=)/.test(params[0]!)) {
      const name = params.shift()!;
      const found = this.findLogFormat(name);
      if (!found) this.fail(d, `unknown log format "${name}"`);
      format = found;
    }
    let bufferSize: number | null = null;
    let flushMs: number | null = null;
    for (const p of params) {
      if (p.startsWith("buffer=")) {
        const size = parseSize(p.slice("buffer=".length));
        if (!size) this.fail(d, `invalid buffer size "${p.slice("buffer=".length)}"`);
        bufferSize = size;
      } else if (p.startsWith("flush=")) {
        const ms = parseTime(p.slice("flush=".length), "ms");
        if (!ms) this.fail(d, `invalid flush time "${p.slice("flush=".length)}"`);
        flushMs = ms;
      } else if (p === "gzip" || p.startsWith("gzip=")) {
        const n = p === "gzip" ? 1 : atoi(p.slice("gzip=".length));
        if (n === null || n < 1 || n > 9) this.fail(d, `invalid compression level "${p.slice("gzip=".length)}"`);
        this.warn(d, `the "gzip" parameter of "access_log" is not supported yet and is ignored: lines are written uncompressed`);
      } else if (p.startsWith("if=")) {
        this.warn(d, `the "if" parameter of "access_log" is not supported yet and is ignored: every session is logged`);
      } else {
        this.fail(d, `invalid parameter "${p}"`);
      }
    }
    if (flushMs !== null && bufferSize === null) this.fail(d, `no buffer is defined for access_log "${path}"`);
    if (path.startsWith("syslog:")) {
      this.warn(d, `access_log to syslog is not supported yet and is ignored`);
      return;
    }
    if (path.includes("$")) this.fail(d, `"access_log" with variables in the path is not supported yet`);
    level.logs.push({ path, format, bufferSize, flushMs, loc: this.loc(d) });
  }

  /** A log_format defined so far, or a built-in one, by nginx's case-insensitive match. */
  private findLogFormat(name: string): string | null {
    const lower = name.toLowerCase();
    for (const f of this.logFormats.keys()) if (f.toLowerCase() === lower) return f;
    for (const f of BUILTIN_LOG_FORMATS.keys()) if (f === lower) return f;
    return null;
  }


  private proxyPass(d: NginxDirective): string {
    const target = d.args[0]!;
    if (target.includes("$")) this.fail(d, `"proxy_pass" with variables is not supported yet`);
    if (target.startsWith("unix:")) this.fail(d, `"proxy_pass" to a unix socket is not supported yet`);
    return target;
  }

  /** The proxy_* settings streamlb runs; they may be set in stream{} and per server{}. */
  private proxySetting(d: NginxDirective, family: Family, into: ProxyOverrides): boolean {
    let name = d.name;
    if (family === "tcp") {
      // yaoweibin's tcp{} knows only these, two of them under other names.
      name = TCP_PROXY_ALIASES[name] ?? name;
      if (name !== "proxy_timeout" && name !== "proxy_buffer_size" && name !== "proxy_connect_timeout" && name !== "tcp_nodelay") {
        return false;
      }
    }
    switch (name) {
      case "proxy_connect_timeout":
        into.proxyConnectTimeoutMs = this.time(d, "ms");
        return true;
      case "proxy_timeout":
        into.proxyTimeoutMs = this.time(d, "ms");
        return true;
      case "proxy_next_upstream":
        into.proxyNextUpstream = this.flag(d);
        return true;
      case "proxy_next_upstream_tries":
        into.proxyNextUpstreamTries = this.number(d);
        return true;
      case "proxy_next_upstream_timeout":
        into.proxyNextUpstreamTimeoutMs = this.time(d, "ms");
        return true;
      case "proxy_downstream_buffer":
      case "proxy_upstream_buffer":
        this.warn(d, `the "${d.name}" directive is deprecated, use the "proxy_buffer_size" directive instead`);
        into.proxyBufferSize = this.size(d);
        return true;
      case "proxy_buffer_size":
        into.proxyBufferSize = this.size(d);
        return true;
      case "tcp_nodelay":
        into.tcpNodelay = this.flag(d);
        return true;
      case "proxy_half_close":
        into.proxyHalfClose = this.flag(d);
        return true;
      case "proxy_socket_keepalive":
        into.proxySocketKeepalive = this.flag(d);
        return true;
      case "proxy_session_drop":
        into.proxySessionDrop = this.flag(d);
        return true;
    }
    return false;
  }

  private finishServer(s: ServerDraft, block: BlockDraft): ServerConfig & { proxyPassLoc: SourceLoc } {
    const base = block.family === "stream" ? DEFAULT_PROXY_SETTINGS : TCP_PROXY_SETTINGS;
    const pass = s.proxyPass!;
    const upstream = this.upstreamNames.get(pass.name.toLowerCase());
    let proxyPass = upstream ?? pass.name;
    // yaoweibin's proxy_pass defaults to port 80.
    if (!upstream && block.family === "tcp" && !/:\d+$/.test(proxyPass)) proxyPass += ":80";
    return {
      listen: s.listen,
      proxyPass,
      // nginx's merge: a server{} with rules of its own does not inherit stream{}'s.
      access: s.access.length > 0 ? s.access : block.access,
      proxy: { ...base, ...block.overrides, ...s.overrides },
      // nginx's merge: a server{} with its own access_log (or `off`) uses only that.
      accessLog: effectiveAccessLog(s.accessLog.logs.length || s.accessLog.off ? s.accessLog : block.accessLog),
      loc: s.loc,
      proxyPassLoc: pass.loc,
    };
  }

  // --- listen ---

  private listen(d: NginxDirective, family: Family): ListenConfig[] {
    const [address, ...params] = d.args as [string, ...string[]];
    const { host, ports } = this.listenAddress(d, address, family);
    for (const p of params) {
      if (family === "tcp") this.tcpListenParam(d, p);
      else this.streamListenParam(d, p);
    }
    return ports.map((port) => ({ host, port, loc: this.loc(d) }));
  }

  private listenAddress(d: NginxDirective, text: string, family: Family): { host: string | null; ports: number[] } {
    const where = `in "${text}" of the "listen" directive`;
    if (text.startsWith("unix:")) this.fail(d, `unix sockets are not supported yet ${where}`);
    let host: string | null;
    let portText: string | null;
    const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (v6) {
      host = v6[1]!;
      portText = v6[2] ?? null;
    } else if (/^\d+(-\d+)?$/.test(text)) {
      host = null;
      portText = text;
    } else if (text.includes(":")) {
      const colon = text.lastIndexOf(":");
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
      if (host === "" || host.includes(":")) this.fail(d, `invalid host ${where}`);
      if (host === "*") host = null;
    } else {
      host = text;
      portText = null;
    }
    if (portText === null) this.fail(d, `no port ${where}`);
    // stream{} takes port ranges (8000-8010) since nginx 1.15.10; tcp{} does not.
    const range = family === "stream" ? /^(\d+)(?:-(\d+))?$/.exec(portText) : /^(\d+)$/.exec(portText);
    const lo = range ? Number(range[1]) : NaN;
    const hi = range?.[2] !== undefined ? Number(range[2]) : lo;
    if (!(lo >= 1 && lo <= 65535 && hi >= 1 && hi <= 65535)) this.fail(d, `invalid port ${where}`);
    if (hi < lo) this.fail(d, `invalid port range ${where}`);
    const ports: number[] = [];
    for (let p = lo; p <= hi; p++) ports.push(p);
    return { host, ports };
  }

  private streamListenParam(d: NginxDirective, p: string): void {
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.slice(0, eq + 1);
    const value = eq < 0 ? "" : p.slice(eq + 1);
    switch (key) {
      case "default_server":
      case "bind":
        return; // harmless, and so common that a warning would be noise
      case "udp":
        this.fail(d, `UDP is not supported yet ("listen … udp")`);
      case "ssl":
        this.fail(d, `the "ssl" parameter of "listen" is not supported yet: streamlb does not terminate TLS`);
      case "proxy_protocol":
        this.fail(d, `the "proxy_protocol" parameter of "listen" is not supported yet`);
      case "backlog=":
        if (!atoi(value)) this.fail(d, `invalid backlog "${p}"`);
        break;
      case "rcvbuf=":
      case "sndbuf=":
        if (parseSize(value) === null) this.fail(d, `invalid ${key.slice(0, -1)} "${p}"`);
        break;
      case "fastopen=":
      case "setfib=":
        if (atoi(value) === null) this.fail(d, `invalid ${key.slice(0, -1)} "${p}"`);
        break;
      case "ipv6only=":
        // nginx matches the prefix "ipv6only=o": anything else is an unknown parameter.
        if (!value.startsWith("o")) this.fail(d, `the invalid "${p}" parameter`);
        if (value !== "on" && value !== "off") this.fail(d, `invalid ipv6only flags "${value}"`);
        break;
      case "so_keepalive=":
        if (!validKeepalive(value)) this.fail(d, `invalid so_keepalive value: "${value}"`);
        break;
      case "reuseport":
      case "deferred":
      case "multipath":
      case "accept_filter=":
        break;
      default:
        this.fail(d, `the invalid "${p}" parameter`);
    }
    this.listenParamIgnored(d, key.replace(/=$/, ""));
  }

  /** A valid listen parameter streamlb does not act on: a warning if harmless, else refused. */
  private listenParamIgnored(d: NginxDirective, name: string): void {
    const why = HARMLESS_LISTEN_PARAMS.get(name);
    if (why === undefined) this.fail(d, `the "${name}" parameter of "listen" is not supported yet`);
    this.warn(d, `the "${name}" parameter of "listen" is ignored: ${why}`);
  }

  private tcpListenParam(d: NginxDirective, p: string): void {
    if (p === "bind" || p === "default") return;
    if (p === "ssl") this.fail(d, `the "ssl" parameter of "listen" is not supported yet: streamlb does not terminate TLS`);
    if (p.startsWith("ipv6only=o")) {
      if (p !== "ipv6only=on" && p !== "ipv6only=off") this.fail(d, `invalid ipv6only flags "${p.slice(9)}"`);
      this.listenParamIgnored(d, "ipv6only");
    }
    this.fail(d, `the invalid "${p}" parameter`);
  }

  // --- upstream{} ---

  private upstream(d: NginxDirective, family: Family): UpstreamConfig {
    const name = d.args[0]!;
    if (this.upstreamNames.has(name.toLowerCase())) this.fail(d, `duplicate upstream "${name}"`);
    this.upstreamNames.set(name.toLowerCase(), name);
    let method: BalanceMethod = { kind: "round_robin" };
    let methodSet = false;
    // The method directive decides which server parameters are allowed, for the servers
    // that come after it (nginx sets the upstream's flags when it reads the method).
    let backupAllowed = true;
    const servers: UpstreamServerConfig[] = [];
    let state: string | null = null;
    let zone: NginxDirective | null = null;
    const tcpCheck = this.health.tcpScope();
    this.walk(d.block!, family === "stream" ? "stream_upstream" : "tcp_upstream", (e, spec) => {
      switch (e.name) {
        case "server":
          servers.push(family === "stream" ? this.streamUpstreamServer(e, backupAllowed) : this.tcpUpstreamServer(e, backupAllowed));
          return;
        case "hash":
        case "least_conn":
        case "random":
        case "ip_hash":
          if (methodSet) this.warn(e, `load balancing method redefined`);
          methodSet = true;
          method = this.method(e);
          backupAllowed = method.kind === "least_conn";
          return;
        case "check":
        case "check_http_send":
        case "check_http_expect_alive":
          if (this.health.tcpDirective(e, tcpCheck)) return;
          break;
        case "state":
          if (e.args[0]!.includes("$")) this.fail(e, `"state" with variables is not supported`);
          state = e.args[0]!;
          return;
        case "zone":
          zone = e;
          break;
      }
      this.ignore(e, spec);
    });
    // With `state`, the servers come from the file (NGINX Plus allows no `server` then);
    // streamlb also takes `server` lines, as the list to start from while the file does not exist.
    if (servers.length === 0 && state === null) {
      throw new ConfigError(`no servers are inside upstream`, { file: d.file, line: d.endLine, col: 0 });
    }
    const healthCheck = this.health.tcpCheck(tcpCheck, name);
    const upstream = { name, method, servers, implicit: false, healthCheck, ...(state !== null && { state }), loc: this.loc(d) };
    if (zone) this.zones.push({ upstream, d: zone });
    return upstream;
  }

  private method(d: NginxDirective): BalanceMethod {
    const [a, b] = d.args;
    switch (d.name) {
      case "least_conn":
        return { kind: "least_conn" };
      case "hash":
        if (b !== undefined && b !== "consistent") this.fail(d, `invalid parameter "${b}"`);
        if (hashKeyError(a!)) this.fail(d, hashKeyError(a!)!);
        return { kind: "hash", key: a!, consistent: b === "consistent" };
      case "random":
        if (a !== undefined && a !== "two") this.fail(d, `invalid parameter "${a}"`);
        if (b !== undefined && b !== "least_conn") this.fail(d, `invalid parameter "${b}"`);
        return { kind: "random", two: a === "two", leastConn: b === "least_conn" };
      default:
        this.warn(
          d,
          `"ip_hash" is not supported yet: "hash $remote_addr" is used instead, which keeps a client on one server, but not on the one ip_hash would pick`,
        );
        return { kind: "hash", key: "$remote_addr", consistent: false };
    }
  }

  private streamUpstreamServer(d: NginxDirective, backupAllowed: boolean): UpstreamServerConfig {
    const [address, ...params] = d.args as [string, ...string[]];
    const s: ServerParams = { ...DEFAULT_SERVER };
    // nginx reads the parameters before the address, so a bad parameter is reported first.
    for (const p of params) {
      if (this.commonServerParam(d, p, s)) continue;
      if (p.startsWith("max_conns=")) {
        s.maxConns = this.paramInt(d, p, "max_conns=");
      } else if (p === "backup") {
        if (!backupAllowed) this.fail(d, `balancing method does not support parameter "${p}"`);
        s.backup = true;
      } else if (p === "down") {
        s.down = true;
      } else if (p.startsWith("slow_start=")) {
        // Plus refuses it with hash and random, like backup (the same after-the-method rule).
        if (!backupAllowed) this.fail(d, `balancing method does not support parameter "${p}"`);
        const ms = parseTime(p.slice("slow_start=".length), "s");
        if (ms === null) this.fail(d, `invalid parameter "${p}"`);
        s.slowStartMs = ms;
      } else if (p === "drain") {
        s.drain = true;
      } else if (p === "resolve" || p.startsWith("service=")) {
        // Re-resolving moves sessions to other addresses: never silently skipped.
        this.fail(d, `the "${p.replace(/=.*$/, "")}" parameter of "server" is not supported yet`);
      } else {
        this.fail(d, `invalid parameter "${p}"`);
      }
    }
    const hp = this.upstreamAddress(d, address, null);
    return { ...s, address, host: hp.host, port: hp.port, loc: this.loc(d) };
  }

  /** yaoweibin's server: address first, port 80 by default, and its own parameter set. */
  private tcpUpstreamServer(d: NginxDirective, backupAllowed: boolean): UpstreamServerConfig {
    const [written, ...params] = d.args as [string, ...string[]];
    const hp = this.upstreamAddress(d, written, 80);
    const address = hp.defaulted ? `${written}:80` : written;
    const s: ServerParams = { ...DEFAULT_SERVER };
    for (const p of params) {
      if (this.commonServerParam(d, p, s)) continue;
      if (p.startsWith("max_busy=")) {
        this.paramInt(d, p, "max_busy=");
        this.fail(d, `the "max_busy" parameter of "server" is not supported yet`);
      } else if (p.startsWith("backup") && backupAllowed) {
        s.backup = true;
      } else if (p.startsWith("down")) {
        s.down = true;
      } else {
        this.fail(d, `invalid parameter "${p}"`);
      }
    }
    return { ...s, address, host: hp.host, port: hp.port, loc: this.loc(d) };
  }

  /** weight=, max_fails= and fail_timeout= read the same in stream{} and tcp{}; false: not one of them. */
  private commonServerParam(d: NginxDirective, p: string, s: ServerParams): boolean {
    if (p.startsWith("weight=")) {
      s.weight = this.paramInt(d, p, "weight=");
      if (s.weight === 0) this.fail(d, `invalid parameter "${p}"`);
    } else if (p.startsWith("max_fails=")) {
      s.maxFails = this.paramInt(d, p, "max_fails=");
    } else if (p.startsWith("fail_timeout=")) {
      const ms = parseTime(p.slice("fail_timeout=".length), "s");
      if (ms === null) this.fail(d, `invalid parameter "${p}"`);
      s.failTimeoutMs = ms;
    } else {
      return false;
    }
    return true;
  }

  private paramInt(d: NginxDirective, p: string, prefix: string): number {
    const n = atoi(p.slice(prefix.length));
    if (n === null) this.fail(d, `invalid parameter "${p}"`);
    return n;
  }

  /** host:port or [v6]:port, in ngx_parse_url's words when it is not. */
  private upstreamAddress(
    d: NginxDirective,
    text: string,
    defaultPort: number | null,
  ): { host: string; port: number; defaulted: boolean } {
    const where = `in upstream "${text}"`;
    if (text.startsWith("unix:")) this.fail(d, `unix sockets are not supported yet ${where}`);
    const hp = parseHostPort(text);
    if (hp) return { ...hp, defaulted: false };
    const v6 = /^\[[^\]]*\]$/.test(text);
    const hasPort = !v6 && text.includes(":");
    if (!hasPort) {
      if (defaultPort === null) this.fail(d, `no port ${where}`);
      const withPort = parseHostPort(`${text}:${defaultPort}`);
      if (withPort) return { ...withPort, defaulted: true };
      this.fail(d, `invalid host ${where}`);
    }
    const colon = text.lastIndexOf(":");
    if (colon === 0) this.fail(d, `no host ${where}`);
    if (!/^\d{1,5}$/.test(text.slice(colon + 1)) || !parseHostPort(`127.0.0.1${text.slice(colon)}`)) {
      this.fail(d, `invalid port ${where}`);
    }
    this.fail(d, `invalid host ${where}`);
  }

  // --- values, warnings, errors ---

  /**
   * A directive streamlb does not act on. Silent where its value is what streamlb does anyway
   * (`proxy_protocol off`); one warning where ignoring it is harmless; else fail closed.
   */
  private ignore(d: NginxDirective, spec: DirectiveSpec): void {
    const quiet = d.args.length === 1 && spec.quietWhen.includes(d.args[0]!.toLowerCase());
    if (!quiet) {
      const why = HARMLESS_DIRECTIVES.get(d.name);
      if (why === undefined) this.fail(d, `"${d.name}" directive is not supported yet`);
      this.warn(d, `"${d.name}" is ignored: ${why}`);
    }
    if (d.block) this.skip(d.block);
  }

  private time(d: NginxDirective, granularity: TimeGranularity): number {
    const ms = parseTime(d.args[0]!, granularity);
    if (ms === null) this.fail(d, `"${d.name}" directive invalid value`);
    return ms;
  }

  private size(d: NginxDirective): number {
    const bytes = parseSize(d.args[0]!);
    if (bytes === null) this.fail(d, `"${d.name}" directive invalid value`);
    return bytes;
  }

  private number(d: NginxDirective): number {
    const n = atoi(d.args[0]!);
    if (n === null) this.fail(d, `"${d.name}" directive invalid number`);
    return n;
  }

  /** on/off in any case (ngx_strcasecmp), or nginx's error. */
  private flag(d: NginxDirective): boolean {
    const v = d.args[0]!.toLowerCase();
    if (v === "on") return true;
    if (v === "off") return false;
    this.fail(d, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
  }

  private warn(d: NginxDirective, message: string): void {
    this.warnings.push({ message, loc: this.loc(d) });
  }

  private loc(d: NginxDirective): SourceLoc {
    return { file: d.file, line: d.line, col: 0 };
  }

  private fail(d: NginxDirective, problem: string): never {
    throw new ConfigError(problem, this.loc(d));
  }
}

function effectiveAccessLog(level: AccessLogLevel): AccessLogConfig[] {
  return level.off ? [] : level.logs;
}

/** ngx_atoi: digits only, not empty; null where nginx returns NGX_ERROR. */
function atoi(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/** so_keepalive=on|off|[idle]:[intvl]:[cnt] (times in seconds, any part may be empty). */
function validKeepalive(v: string): boolean {
  if (v === "on" || v === "off") return true;
  const parts = v.split(":");
  if (parts.length !== 3 || parts.every((p) => p === "")) return false;
  return parts.every((p, i) => p === "" || (i === 2 ? atoi(p) !== null : parseTime(p, "s") !== null));
}

/** The errno text nginx prints after a failed open(): `2: No such file or directory`. */
export function describeFileError(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const known: Record<string, string> = {
    ENOENT: "2: No such file or directory",
    EACCES: "13: Permission denied",
    ENOTDIR: "20: Not a directory",
    EISDIR: "21: Is a directory",
    EMFILE: "24: Too many open files",
    ELOOP: "40: Too many levels of symbolic links",
  };
  if (typeof code === "string" && known[code]) return known[code];
  return e instanceof Error ? e.message : String(e);
}
