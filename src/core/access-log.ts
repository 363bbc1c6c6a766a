// nginx's stream access log (ngx_stream_log_module): one line per finished session in a
// log_format, written in batches so a slow disk never stalls the relay. A config's formats
// are compiled once, when it is applied; a line costs one pass over the compiled parts.
import { BUILTIN_LOG_FORMATS, parseLogFormat } from "./config/values/log-format.ts";
import type { AccessLogConfig, Config, LogEscape, ServerConfig } from "./config/model.ts";
import { isSyslogPath, parseSyslogTarget, type SyslogTarget } from "./config/values/syslog-target.ts";
import { systemReason } from "./errno.ts";
import { type SyslogSender, syslogSender } from "./error-log-sinks.ts";
import type { Logger } from "./log.ts";
import type { LogFile, Runtime } from "./runtime.ts";
import type { VariableScope } from "./variables/context.ts";
import { ComplexValue, hasVariables } from "./variables/complex-value.ts";
import { type FinishedSession, RecordContext } from "./variables/record-context.ts";
import type { VariableRegistry } from "./variables/registry.ts";
import { SessionVariables } from "./variables/session-variables.ts";

/** How much a log keeps before it writes, and for how long at most (`buffer=`/`flush=` override). */
export const DEFAULT_ACCESS_LOG_BUFFER = 64 * 1024;
export const DEFAULT_ACCESS_LOG_FLUSH_MS = 1000;

/** Everything a line can say about one finished session. */
export interface SessionRecord extends FinishedSession {
  /**
   * The session's own variables (what `set` and maps gave it, over its live facts); absent,
   * a line is computed from the fields above alone.
   */
  readonly variables?: VariableScope;
}

/** A compiled log_format: record in, line (with its newline) out. */
export type LineFormatter = (record: SessionRecord) => string;

/**
 * Compiles a format once against the config's variables (any nginx stream variable, and
 * what map/geo/split_clients/set define); a line is one pass over the parts.
 */
export function compileLogFormat(format: string, escape: LogEscape, registry: VariableRegistry): LineFormatter {
  const parts: Array<string | number> = [];
  for (const part of parseLogFormat(format, (name) => registry.knows(name))) {
    parts.push("text" in part ? part.text : registry.index(part.variable));
  }
  const esc = escape === "json" ? escapeJson : escape === "none" ? (v: string) => v : escapeDefault;
  // nginx writes "-" for a variable with no value, and nothing in escape=json/none.
  const empty = escape === "default" ? "-" : "";
  return (record) => {
    const scope = record.variables ?? new SessionVariables(registry, new RecordContext(record));
    let line = "";
    for (const p of parts) {
      if (typeof p === "string") {
        line += p;
        continue;
      }
      const value = scope.get(p);
      line += value === null ? empty : esc(value);
    }
    return `${line}\n`;
  };
}

const HEX = "0123456789ABCDEF";

/** ngx_stream_log_escape: `"`, `\`, control characters and bytes >= 0x7f become \xHH. */
export function escapeDefault(value: string): string {
  // Fast path: most values (addresses, numbers) need nothing.
  // deno-lint-ignore no-control-regex -- control characters are exactly what this looks for
  if (!/["\\\x00-\x1f\x7f-\uffff]/.test(value)) return value;
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    if (byte === 0x22 || byte === 0x5c || byte < 0x20 || byte >= 0x7f) out += `\\x${HEX[byte >> 4]}${HEX[byte & 15]}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

/** ngx_escape_json: a value that can sit inside a JSON string. */
export function escapeJson(value: string): string {
  // deno-lint-ignore no-control-regex -- control characters are exactly what this looks for
  if (!/["\\\x00-\x1f]/.test(value)) return value;
  return JSON.stringify(value).slice(1, -1);
}

// --- writing ---

/**
 * One log file: lines collect in memory and go out in one append when `bufferSize` is
 * reached or `flushMs` after the first pending line, whichever comes first. Appends are
 * asynchronous and one at a time, so lines keep their order and the event loop (the
 * relay) never waits for the disk.
 */
class BufferedLog {
  /** `gzip`: each flushed batch goes out as one gzip member, as nginx writes them. */
  gzip = false;
  private pending: string[] = [];
  private size = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly path: string,
    private readonly file: LogFile,
    public bufferSize: number,
    public flushMs: number,
    private readonly logger: Logger,
  ) {}

  private lastAlertMs = -Infinity;

  write(line: string): void {
    if (this.closed) return;
    this.pending.push(line);
    this.size += line.length;
    if (this.size >= this.bufferSize) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Starts writing what is pending; resolves once everything handed over so far is written. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length > 0) {
      const text = this.pending.join("");
      this.pending = [];
      this.size = 0;
      const data = this.gzip ? gzipText(text) : text;
      this.writing = this.writing.then(async () =>
        this.file.append(await data).catch((e: unknown) => {
          // As nginx: in its own words, at most once a minute (a full disk would flood the error log).
          const now = Date.now();
          if (now - this.lastAlertMs < 60_000) return;
          this.lastAlertMs = now;
          this.logger.log("alert", `write() to "${this.path}" failed (${systemReason(e)})`);
        })
      );
    }
    return this.writing;
  }

  async reopen(): Promise<void> {
    await this.flush();
    await this.file.reopen();
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.file.close();
  }
}

/**
 * `access_log syslog:server=…`: each line goes out at once as one datagram at the target's
 * severity (nginx refuses a buffer for syslog, so the buffer settings stay unused).
 */
class SyslogLog {
  gzip = false;
  bufferSize = 0;
  flushMs = 0;
  private readonly sender: SyslogSender;
  private readonly severity: number;

  constructor(runtime: Pick<Runtime, "connectDatagram" | "hostname">, target: SyslogTarget) {
    this.sender = syslogSender(runtime, target);
    this.severity = target.severity;
  }

  write(line: string): void {
    this.sender.write(line, this.severity);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  reopen(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.sender.close();
  }
}

type AccessLogSink = BufferedLog | SyslogLog;

/** Where one server's sessions are logged: each `access_log` that applies to it. */
export interface SessionLogger {
  log(record: SessionRecord): void;
}

/** The logs a config needs, opened but not yet in use (a reload can still fail). */
export interface PreparedAccessLogs {
  /** The logger for a server of the prepared config, or null when its access_log is off. */
  forServer(server: ServerConfig): SessionLogger | null;
  /** Makes the prepared config's logs the running ones; closes files it no longer names. */
  commit(): Promise<void>;
  /** Closes what prepare opened (the reload failed). */
  abort(): Promise<void>;
}

const MAX_DYNAMIC_FILES = 64;

interface LogTarget {
  readonly log: AccessLogConfig;
  readonly format: LineFormatter;
  /** The path, when it has variables (evaluated per line). */
  readonly path: ComplexValue | null;
  readonly condition: ComplexValue | null;
}

/** One gzip member: CompressionStream is a Web standard every runtime has. */
async function gzipText(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A LogFile that opens its file at the first append (variable paths: nothing to open at load). */
function lazyLogFile(runtime: Pick<Runtime, "openLogFile">, path: string): LogFile {
  let file: Promise<LogFile> | null = null;
  const get = () => (file ??= runtime.openLogFile(path).catch((e: unknown) => {
    file = null;
    throw new Error(`open() "${path}" failed (${systemReason(e)})`);
  }));
  return {
    write: (text) => void get().then((f) => f.write(text)),
    append: async (data) => (await get()).append(data),
    reopen: async () => {
      if (file) await (await file).reopen();
    },
    close: async () => {
      if (file) await (await file.catch(() => null))?.close();
    },
  };
}

/** Every access log file of a running balancer, across reloads (a file that stays stays open). */
export class AccessLogs {
  private files = new Map<string, AccessLogSink>();
  /** Files whose paths have variables, by the path a session gave. */
  private readonly dynamic = new Map<string, BufferedLog>();

  constructor(
    private readonly runtime: Pick<Runtime, "openLogFile" | "pid" | "connectDatagram" | "hostname">,
    private readonly logger: Logger,
  ) {}

  /** `registry`: the config's variables (stream-variables.ts), which formats read. */
  async prepare(config: Config, registry: VariableRegistry): Promise<PreparedAccessLogs> {
    const opened = new Map<string, AccessLogSink>();
    const used = new Map<string, AccessLogConfig>();
    const formatters = new Map<string, LineFormatter>();
    const loggers = new Map<ServerConfig, SessionLogger | null>();
    try {
      for (const server of config.stream.servers) {
        const targets: LogTarget[] = [];
        for (const log of server.accessLog) {
          const path = hasVariables(log.path) ? ComplexValue.compile(log.path, registry) : null;
          const condition = log.condition ? ComplexValue.compile(log.condition, registry) : null;
          if (!path && !used.has(log.path)) used.set(log.path, log);
          if (!path && !this.files.has(log.path) && !opened.has(log.path)) {
            opened.set(log.path, await this.sink(log));
          }
          let format = formatters.get(log.format);
          if (!format) {
            format = this.compile(config, log.format, registry);
            formatters.set(log.format, format);
          }
          targets.push({ log, format, path, condition });
        }
        loggers.set(server, targets.length ? this.sessionLogger(targets, registry) : null);
      }
      for (const path of config.stream.unusedLogFiles ?? []) {
        if (hasVariables(path) || this.files.has(path) || opened.has(path) || used.has(path)) continue;
        // A syslog target nobody logs to has nothing to open.
        if (isSyslogPath(path)) continue;
        const log: AccessLogConfig = {
          path,
          format: "basic",
          bufferSize: null,
          flushMs: null,
          loc: config.stream.servers[0]!.loc,
        };
        used.set(path, log);
        opened.set(path, this.buffered(log, await this.open(path)));
      }
    } catch (e) {
      await Promise.all([...opened.values()].map((f) => f.close()));
      throw e;
    }
    return {
      forServer: (server) => loggers.get(server) ?? null,
      commit: async () => {
        for (const [path, f] of opened) this.files.set(path, f);
        const gone: AccessLogSink[] = [];
        for (const [path, f] of this.files) {
          const log = used.get(path);
          if (!log) {
            this.files.delete(path);
            gone.push(f);
            continue;
          }
          f.bufferSize = log.bufferSize ?? DEFAULT_ACCESS_LOG_BUFFER;
          f.flushMs = log.flushMs ?? DEFAULT_ACCESS_LOG_FLUSH_MS;
          f.gzip = (log.gzip ?? null) !== null;
        }
        await Promise.all(gone.map((f) => f.close()));
      },
      abort: async () => {
        await Promise.all([...opened.values()].map((f) => f.close()));
      },
    };
  }

  /** `-s reopen`: writes what is pending, then reopens every file (after logrotate moved them). */
  async reopen(): Promise<void> {
    await Promise.all([...this.files.values(), ...this.dynamic.values()].map((f) => f.reopen()));
  }

  /** Writes everything pending and closes the files (stop). */
  async close(): Promise<void> {
    const files = [...this.files.values(), ...this.dynamic.values()];
    this.files.clear();
    this.dynamic.clear();
    await Promise.all(files.map((f) => f.close()));
  }

  /** A file, or a syslog server (the readers checked its target). */
  private async sink(log: AccessLogConfig): Promise<AccessLogSink> {
    if (!isSyslogPath(log.path)) return this.buffered(log, await this.open(log.path));
    const target = parseSyslogTarget(log.path);
    if ("error" in target) throw new Error(target.error);
    return new SyslogLog(this.runtime, target);
  }

  private open(path: string): Promise<LogFile> {
    return this.runtime.openLogFile(path).catch((e: unknown) => {
      throw new Error(`open() "${path}" failed (${e instanceof Error ? e.message : String(e)})`);
    });
  }

  private buffered(log: AccessLogConfig, file: LogFile, path = log.path): BufferedLog {
    const b = new BufferedLog(
      path,
      file,
      log.bufferSize ?? DEFAULT_ACCESS_LOG_BUFFER,
      log.flushMs ?? DEFAULT_ACCESS_LOG_FLUSH_MS,
      this.logger,
    );
    b.gzip = (log.gzip ?? null) !== null;
    return b;
  }

  /** A file named by variables (`access_log /logs/$server_port.log`), opened at its first line. */
  private dynamicFile(path: string, log: AccessLogConfig): BufferedLog {
    let f = this.dynamic.get(path);
    if (!f) {
      // Bounded: a path per client would otherwise hold a descriptor per client.
      if (this.dynamic.size >= MAX_DYNAMIC_FILES) {
        const [oldest, file] = this.dynamic.entries().next().value!;
        this.dynamic.delete(oldest);
        void file.close();
      }
      f = this.buffered(log, lazyLogFile(this.runtime, path), path);
      this.dynamic.set(path, f);
    }
    return f;
  }

  private compile(config: Config, name: string, registry: VariableRegistry): LineFormatter {
    const own = config.stream.logFormats.get(name);
    const def = own ?? BUILTIN_LOG_FORMATS.get(name);
    // The loaders check every name; this is for a Config built by hand.
    if (!def) throw new Error(`unknown log format "${name}"`);
    return compileLogFormat(def.format, def.escape, registry);
  }

  private sessionLogger(targets: readonly LogTarget[], registry: VariableRegistry): SessionLogger {
    const files = this.files;
    return {
      log: (record) => {
        let scope: VariableScope | null = null;
        for (const t of targets) {
          if (t.condition || t.path) scope ??= record.variables ?? new SessionVariables(registry, new RecordContext(record));
          // ngx_stream_log_handler: `if=` skips the line when the value is empty or "0".
          if (t.condition) {
            const v = t.condition.evaluate(scope!);
            if (v === "" || v === "0") continue;
          }
          const file = t.path ? this.dynamicFile(t.path.evaluate(scope!), t.log) : files.get(t.log.path);
          file?.write(t.format(record));
        }
      },
    };
  }
}
