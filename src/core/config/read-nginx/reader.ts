// Reads an nginx.conf (stream{}, yaoweibin's tcp{}) into the Config the YAML loader makes, with
// nginx's checks and messages. A directive streamlb does not run is accepted (warned) only when
// its table row says ignoring it is harmless; else it is "not supported yet" (fail closed).
import { COMMAND_LINE, ConfigError } from "../errors.ts";
import {
  type AdminConfig,
  type Config,
  type ErrorLogConfig,
  type SourceLoc,
  type UpstreamConfig,
  type UpstreamServerConfig,
  type VariableBlockConfig,
} from "../model.ts";
import { type Context, type DirectiveSpec, harmlessReason } from "../schema/directive.ts";
import { NginxHealthChecks } from "./health.ts";
import { type NginxDirective, type NginxNode, tokenizeNginx } from "./tokenizer.ts";
import { DEFAULT_MAIN_SETTINGS, type MainSettings } from "../schema/main.ts";
import type { ProxyRow } from "../schema/proxy.ts";
import type { Mutable } from "../schema/row.ts";
import { resolveConfig } from "../resolve.ts";
import type { ReaderContext } from "./context.ts";
import type { BlockDraft, Family, ProxyOverrides, ServerDraft } from "./drafts.ts";
import { type ConfigFiles, type ConfigWarning, Includes } from "./files.ts";
import { limitConnDirective, limitConnDraft, type ZoneTable } from "./limit-conn.ts";
import { accessRule, passAddress, proxyPass, realipFrom } from "./server-directives.ts";
import { listen } from "./listen.ts";
import { tlsDirective } from "./ssl.ts";
import { serverNameDirective } from "./server-name.ts";
import { adminDirective, blockLogDirective, logFormat, type LogState, mainErrorLog } from "./logs.ts";
import { type BlockHost, upstreamBlock } from "./upstream-block.ts";
import { streamUpstreamServer } from "./upstream-server.ts";
import { resolverSetting, type ResolverSettings } from "./resolve.ts";
import { check, flag, rowValue } from "./values.ts";
import { setDirective, variableBlock } from "./variable-blocks.ts";
import { mergeServer } from "./merge.ts";

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

class NginxReader {
  private readonly warnings: ConfigWarning[] = [];

  /** The main and events{} settings of the schema's rows. */
  private readonly settings: Mutable<MainSettings> = { ...DEFAULT_MAIN_SETTINGS };
  private masterProcess = true;
  private admin: AdminConfig | null = null;
  private readonly logs: LogState = { errorLog: null, moreErrorLogs: [], logFormats: new Map() };
  private sawEvents = false;
  private readonly upstreams: UpstreamConfig[] = [];
  /** Upstream names by their lower case: nginx matches them case-insensitively. */
  private readonly upstreamNames = new Map<string, string>();
  private readonly blocks: BlockDraft[] = [];
  private readonly limitConnZones: ZoneTable = new Map();
  /** stream{}'s resolver and resolver_timeout. */
  private readonly resolver: ResolverSettings = {};
  private readonly variables: VariableBlockConfig[] = [];
  private readonly cx: ReaderContext = {
    fail: (d, problem) => this.fail(d, problem),
    warn: (d, message) => this.warn(d, message),
    loc: (d) => this.loc(d),
  };
  private readonly health = new NginxHealthChecks(this.cx);
  private readonly blockHost: BlockHost = {
    cx: this.cx,
    health: this.health,
    walk: (nodes, ctx, handle) => this.walk(nodes, ctx, handle),
    ignore: (d, spec) => this.ignore(d, spec),
  };
  private readonly includes: Includes;

  constructor(
    private readonly file: string,
    files: ConfigFiles | null,
  ) {
    this.includes = new Includes(file, files, this.cx);
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
    const servers = this.blocks.flatMap((b) => b.servers.map((s) => mergeServer(s, b, this.upstreamNames)));
    // A health_check checks its server's proxy_pass upstream: known once every block is read.
    const checks = this.health.resolve(
      this.blocks.flatMap((b) =>
        b.servers.map((s) => ({
          scope: s.health,
          block: b.health,
          upstream: s.handler!.kind === "proxy_pass" ? this.upstreamNames.get(s.handler!.value.toLowerCase()) ?? null : null,
        }))
      ),
    );
    const upstreams = this.upstreams.map((u) => (checks.has(u.name) ? { ...u, healthCheck: checks.get(u.name)! } : u));
    const config = resolveConfig({
      ...this.settings,
      file: this.file,
      workerProcesses: this.masterProcess ? this.settings.workerProcesses : 1,
      errorLog: this.logs.errorLog ?? options.defaultErrorLog ?? { path: "stderr", level: "error" },
      ...(this.logs.moreErrorLogs.length > 0 && { moreErrorLogs: this.logs.moreErrorLogs }),
      admin: this.admin,
      logFormats: [...this.logs.logFormats.values()],
      unusedLogFiles: this.blocks.flatMap((b) =>
        b.servers.every((s) => s.accessLog.logs.length || s.accessLog.off) ? b.accessLog.logs.map((l) => l.path) : []
      ),
      ...this.resolver,
      variables: this.variables,
      limitConnZones: [...this.limitConnZones.values()].map(({ bytes: _, ...z }) => z),
      ...{ upstreams, servers },
    });
    return { config, warnings: this.warnings };
  }

  readState(text: string): UpstreamServerConfig[] {
    const servers: UpstreamServerConfig[] = [];
    this.walk(tokenizeNginx(text, this.file), "stream_upstream", (d) => {
      if (d.name !== "server") this.fail(d, `"${d.name}" does not belong in a state file: it holds "server" lines only`);
      servers.push(streamUpstreamServer(this.cx, d, "round_robin"));
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
    for (const d of this.includes.expand(nodes)) handle(d, check(this.cx, d, ctx, seen));
  }

  /** Reads through a block streamlb does not run (http{}, map{}…): includes and syntax still count. */
  private skip(nodes: readonly NginxNode[]): void {
    for (const d of this.includes.expand(nodes)) if (d.block) this.skip(d.block);
  }

  private main(d: NginxDirective, spec: DirectiveSpec): void {
    if (spec.setting?.group === "main") {
      fill(this.settings, spec.setting, rowValue(this.cx, d, spec.setting));
      return;
    }
    switch (d.name) {
      case "master_process":
        // Off: one process serves, whatever worker_processes says (nginx's single-process mode).
        this.masterProcess = flag(this.cx, d);
        return;
      case "error_log":
        mainErrorLog(this.cx, this.logs, d);
        return;
      case "admin":
        this.admin = adminDirective(this.cx, d);
        return;
      case "events":
        this.sawEvents = true;
        this.walk(d.block!, "events", (e, s) => {
          if (s.setting?.group === "events") fill(this.settings, s.setting, rowValue(this.cx, e, s.setting));
          else this.ignore(e, s);
        });
        return;
      case "stream":
      case "tcp":
        this.streamBlock(d, d.name);
        return;
      case "load_module":
        // Harmless in its table row too; the message says which kind of module.
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

  private streamBlock(d: NginxDirective, family: Family): void {
    const block: BlockDraft = {
      family,
      overrides: {},
      tls: {},
      accessLog: { logs: [], off: false },
      access: [],
      limitConn: limitConnDraft(),
      realipFrom: [],
      errorLogs: [],
      servers: [],
      health: this.health.scope(),
    };
    this.walk(d.block!, family, (e, spec) => {
      if (e.name === "upstream") this.upstreams.push(upstreamBlock(this.blockHost, e, family, this.upstreamNames));
      else if (e.name === "allow" || e.name === "deny") block.access.push(accessRule(this.cx, e));
      else if (e.name === "set_real_ip_from" && family === "stream") block.realipFrom.push(realipFrom(this.cx, e));
      else if (e.name === "server") block.servers.push(this.server(e, family));
      else if (e.name === "log_format" && family === "stream") logFormat(this.cx, this.logs, e);
      else if (family === "stream" && blockLogDirective(this.cx, this.logs, e, block)) return;
      else if (e.name === "match" && family === "stream") this.match(e);
      else if ((e.name === "map" || e.name === "geo" || e.name === "split_clients") && family === "stream") {
        this.variables.push(variableBlock(this.cx, this.includes, e));
      } else if (family === "stream" && this.health.directive(e, block.health)) return;
      else if (family === "stream" && resolverSetting(this.cx, e, this.resolver)) return;
      else if (family === "stream" && tlsDirective(this.cx, e, block.tls)) return;
      else if (family === "stream" && limitConnDirective(this.cx, e, block.limitConn, this.limitConnZones)) return;
      else if (!this.proxySetting(e, spec, block.overrides)) this.ignore(e, spec);
    });
    // nginx merges each server with stream{} once the block is read, and checks it then.
    for (const s of block.servers) if (!s.handler) throw new ConfigError(`no handler for server`, s.loc);
    this.blocks.push(block);
  }

  private server(d: NginxDirective, family: Family): ServerDraft {
    const s: ServerDraft = {
      accessLog: { logs: [], off: false },
      access: [],
      limitConn: limitConnDraft(),
      realipFrom: [],
      errorLogs: [],
      listen: [],
      handler: null,
      set: [],
      overrides: {},
      tls: {},
      serverNames: [],
      health: this.health.scope(),
      loc: this.loc(d),
    };
    this.walk(d.block!, family === "stream" ? "stream_server" : "tcp_server", (e, spec) => {
      switch (e.name) {
        case "listen":
          s.listen.push(...listen(this.cx, e, family));
          return;
        case "proxy_pass":
          s.handler = { kind: "proxy_pass", value: proxyPass(this.cx, e), loc: this.loc(e) };
          return;
        case "return":
          if (family === "stream") {
            s.handler = { kind: "return", value: e.args[0]!, loc: this.loc(e) };
            return;
          }
          break;
        case "pass":
          if (family === "stream") {
            s.handler = { kind: "pass", value: passAddress(this.cx, e), loc: this.loc(e) };
            return;
          }
          break;
        case "set":
          if (family === "stream") {
            s.set.push(setDirective(this.cx, e));
            return;
          }
          break;
        case "health_check":
        case "health_check_timeout":
          if (family === "stream" && this.health.directive(e, s.health)) return;
          break;
        case "allow":
        case "deny":
          s.access.push(accessRule(this.cx, e));
          return;
        case "set_real_ip_from":
          if (family === "stream") {
            s.realipFrom.push(realipFrom(this.cx, e));
            return;
          }
          break;
      }
      if (family === "stream" && blockLogDirective(this.cx, this.logs, e, s)) return;
      if (family === "stream" && (tlsDirective(this.cx, e, s.tls) || serverNameDirective(this.cx, e, s.serverNames))) return;
      if (family === "stream" && limitConnDirective(this.cx, e, s.limitConn, null)) return;
      if (!this.proxySetting(e, spec, s.overrides)) this.ignore(e, spec);
    });
    if (s.listen.length === 0) throw new ConfigError(`no "listen" is defined for server`, s.loc);
    return s;
  }

  /** NGINX Plus's `match NAME { send ...; expect ...; }`, for health_check match=NAME. */
  private match(d: NginxDirective): void {
    const body: NginxDirective[] = [];
    this.walk(d.block!, "stream_match", (e) => body.push(e));
    this.health.match(d, body);
  }

  /** The proxy_* settings streamlb runs (the table's setting rows); in stream{} and per server{}. */
  private proxySetting(d: NginxDirective, spec: DirectiveSpec, into: ProxyOverrides): boolean {
    const row = spec.setting;
    if (row?.group !== "proxy") return false;
    if ((row as ProxyRow).deprecated?.includes(d.name)) {
      this.warn(d, `the "${d.name}" directive is deprecated, use the "${row.name}" directive instead`);
    }
    fill(into, row, rowValue(this.cx, d, row));
    return true;
  }

  /**
   * A directive streamlb does not act on. Silent where its value is what streamlb does anyway
   * (`proxy_protocol off`); one warning where ignoring it is harmless; else fail closed.
   */
  private ignore(d: NginxDirective, spec: DirectiveSpec): void {
    const quiet = d.args.length === 1 && spec.quietWhen.includes(d.args[0]!.toLowerCase());
    if (!quiet) {
      // A row that says it runs but reached here is refused too: the table never widens what is taken.
      const why = harmlessReason(spec);
      if (why === null) this.fail(d, `"${d.name}" directive is not supported yet`);
      this.warn(d, `"${d.name}" is ignored: ${why}`);
    }
    if (d.block) this.skip(d.block);
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

/** Sets a setting row's model field on what a reader is filling. */
function fill(target: object, row: { readonly field: string }, value: unknown): void {
  (target as Record<string, unknown>)[row.field] = value;
}
