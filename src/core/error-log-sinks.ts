// Where error-log lines go: stderr, a file, or a syslog server over UDP (ngx_syslog.c), each
// with its own level. nginx chains every error_log of one level (main, stream{} or server{})
// and writes a line to each whose level takes it; ErrorLogSet is that chain.
import type { Config, ErrorLogConfig, LogLevel } from "./config/model.ts";
import { LOG_LEVELS } from "./config/model.ts";
import { parseSyslogTarget, SYSLOG_SEVERITIES, syslogHeader, type SyslogTarget } from "./config/values/syslog-target.ts";
import type { DatagramSocket, LogFile, Runtime } from "./runtime.ts";

/** One destination, shared by every error_log line that names it. */
export interface LogTarget {
  /** An nginx line, newline included. */
  write(line: string, level: LogLevel): void;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

type SinkRuntime = Pick<Runtime, "writeStderr" | "openLogFile" | "connectDatagram" | "hostname">;

const RANK: Record<LogLevel, number> = Object.fromEntries(LOG_LEVELS.map((l, i) => [l, i])) as Record<LogLevel, number>;

/** Opens what `path` names; a file that cannot be opened rejects, as nginx fails its start. */
export async function openLogTarget(runtime: SinkRuntime, path: string): Promise<LogTarget> {
  if (path === "stderr") {
    return { write: (line) => runtime.writeStderr(line), reopen: async () => {}, close: async () => {} };
  }
  const syslog = parseSyslogTarget(path);
  if (!("error" in syslog)) {
    const send = syslogSender(runtime, syslog);
    return {
      write: (line, level) => send.write(line, SYSLOG_SEVERITIES.indexOf(level)),
      reopen: async () => {},
      close: () => send.close(),
    };
  }
  if (path.startsWith("syslog:")) throw new Error(syslog.error);
  const file: LogFile = await runtime.openLogFile(path).catch((e: unknown) => {
    throw new Error(`open() "${path}" failed (${e instanceof Error ? e.message : String(e)})`);
  });
  let closed = false;
  return {
    // A session of an old config may still log after a reload closed its file: dropped.
    write: (line) => void (closed || file.write(line)),
    reopen: () => file.reopen(),
    close: () => {
      closed = true;
      return file.close();
    },
  };
}

/** Lines waiting for the syslog socket, at most this many (the first lines of a start). */
const SYSLOG_BACKLOG = 256;

/** One syslog server's socket, for error_log and access_log lines alike. */
export interface SyslogSender {
  /** A line (its newline dropped) at `severity` (0..7). */
  write(line: string, severity: number): void;
  close(): Promise<void>;
}

/**
 * `<PRI>Mmm dd hh:mm:ss host tag: ` and the line without its newline, one datagram each.
 * The socket is made at the first line; if it cannot be, lines are dropped and the next one
 * tries again, as nginx does.
 */
export function syslogSender(runtime: Pick<Runtime, "connectDatagram" | "hostname">, t: SyslogTarget): SyslogSender {
  const hostname = (runtime.hostname ?? "localhost").toLowerCase();
  const encoder = new TextEncoder();
  let socket: DatagramSocket | null = null;
  let connecting = false;
  let closed = false;
  const backlog: Uint8Array[] = [];
  const connect = () => {
    if (connecting || closed || !runtime.connectDatagram) return;
    connecting = true;
    runtime.connectDatagram({ host: t.host, port: t.port }, { message: () => {}, error: () => {} }, 4096).then(
      (s) => {
        connecting = false;
        if (closed) return s.close();
        socket = s;
        for (const d of backlog.splice(0)) s.send(d);
      },
      () => {
        connecting = false;
        backlog.length = 0;
      },
    );
  };
  return {
    write(line, severity) {
      if (closed) return;
      const text = syslogHeader(t, severity, hostname, new Date()) + line.replace(/\n$/, "");
      const datagram = encoder.encode(text);
      if (socket) {
        socket.send(datagram);
        return;
      }
      if (backlog.length < SYSLOG_BACKLOG) backlog.push(datagram);
      connect();
    },
    close: async () => {
      closed = true;
      socket?.close();
      socket = null;
    },
  };
}

/** The error_log lines of one level, over their opened targets. */
export class ErrorLogSet {
  /** The most verbose level of the set: what a logger must let through. */
  readonly level: LogLevel;

  constructor(private readonly sinks: readonly { readonly target: LogTarget; readonly level: LogLevel }[]) {
    this.level = sinks.reduce<LogLevel>((most, s) => (RANK[s.level] < RANK[most] ? s.level : most), "emerg");
  }

  write(line: string, level: LogLevel): void {
    for (const s of this.sinks) if (RANK[level] >= RANK[s.level]) s.target.write(line, level);
  }
}

/** The main error logs (the controller's and the master's own): opened together, closed together. */
export class MainErrorLogs {
  private constructor(readonly set: ErrorLogSet, private readonly targets: readonly LogTarget[], readonly key: string) {}

  static async open(runtime: SinkRuntime, logs: readonly ErrorLogConfig[]): Promise<MainErrorLogs> {
    const targets = new Map<string, LogTarget>();
    try {
      for (const l of logs) if (!targets.has(l.path)) targets.set(l.path, await openLogTarget(runtime, l.path));
    } catch (e) {
      await Promise.all([...targets.values()].map((t) => t.close()));
      throw e;
    }
    const set = new ErrorLogSet(logs.map((l) => ({ target: targets.get(l.path)!, level: l.level })));
    return new MainErrorLogs(set, [...targets.values()], mainLogsKey(logs));
  }

  reopen(): Promise<void> {
    return Promise.all(this.targets.map((t) => t.reopen())).then(() => {});
  }

  close(): Promise<void> {
    return Promise.all(this.targets.map((t) => t.close())).then(() => {});
  }
}

/** Every main-context error_log, in order. */
export function mainErrorLogs(config: Config): ErrorLogConfig[] {
  return [config.errorLog, ...(config.moreErrorLogs ?? [])];
}

/** Equal keys: a reload keeps the open main logs as they are. */
export function mainLogsKey(logs: readonly ErrorLogConfig[]): string {
  return logs.map((l) => `${l.level} ${l.path}`).join("\n");
}
