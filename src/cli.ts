// The command line, nginx's (-c -p -e -g -s -t -T -q -v -V -h), plus `streamlb demo` and
// `streamlb convert`.
import { dirname, resolve } from "node:path";
import { parseCliArgs, type SignalRequest } from "./cli-args.ts";
import { configureText, USAGE, versionLine } from "./cli-info.ts";
import { ConfigError } from "./core/config/errors.ts";
import { lookUpHostNames } from "./core/config/host-names.ts";
import { parseConfig } from "./core/config/load.ts";
import { prefixPaths } from "./core/config/prefix-paths.ts";
import type { Config, ErrorLogConfig, LogLevel } from "./core/config/model.ts";
import { describeFileError, formatWarning } from "./core/config/read-nginx/files.ts";
import { dumpFiles, RecordedFiles } from "./core/config/read-nginx/recorded-files.ts";
import { openConfiguredFiles } from "./core/config-files-check.ts";
import { Controller } from "./core/controller.ts";
import { createLogger } from "./core/log.ts";
import { Master, workerCount } from "./core/master.ts";
import type { LogFile, Runtime, SignalName } from "./core/runtime.ts";
import { runConvert } from "./convert.ts";
import { startChatServer } from "./demo/chat-server.ts";
import { configFiles } from "./runtime/files.ts";
import { readConfigFile } from "./runtime/config-file.ts";
import { lookupHost } from "./runtime/host-lookup.ts";

export const EMBEDDED_CONFIG_NAME = "<embedded default>";

/**
 * What `-s` sends. `stop` sends INT rather than nginx's TERM: TERM drains when
 * shutdown_grace is set (containers), and `-s stop` must always stop at once.
 */
const CONTROL_SIGNALS: Record<SignalRequest, SignalName> = {
  stop: "SIGINT",
  quit: "SIGQUIT",
  reload: "SIGHUP",
  reopen: "SIGUSR1",
};

export interface CliContext {
  readonly runtime: Runtime;
  readonly argv: readonly string[];
  /** The config embedded in this build (src/default.yaml). */
  readonly defaultConfig: string;
  /** Where relative paths resolve when neither -p nor -c says. */
  readonly cwd: string;
}

/** Runs the CLI; resolves with the exit code once there is nothing left to run. */
export async function runCli(ctx: CliContext): Promise<number> {
  const { runtime } = ctx;
  const out = (s: string) => runtime.writeStdout(s);
  const err = (s: string) => runtime.writeStderr(s);

  const parsed = parseCliArgs(ctx.argv);
  if (!parsed.ok) {
    err(`streamlb: ${parsed.error}\n`);
    return 1;
  }
  const opts = parsed.options;

  // As nginx: -h and -v/-V print to stderr and exit, whatever else the line asks.
  if (opts.version) {
    err(opts.configure ? configureText(runtime) : versionLine());
    if (opts.help) err(USAGE);
    return 0;
  }
  if (opts.command === "convert") return runConvert(runtime, opts.commandArgs);

  // nginx would read the prefix directory as the file; an empty name is a slip, said as one.
  if (opts.config === "") {
    err(`streamlb: option "-c" requires file name\n`);
    return 1;
  }
  const prefix = resolve(ctx.cwd, opts.prefix ?? (opts.config !== null ? dirname(resolve(ctx.cwd, opts.config)) : "."));
  const file = opts.config === null ? EMBEDDED_CONFIG_NAME : resolve(opts.prefix !== null ? prefix : ctx.cwd, opts.config);

  // -e: the log for what happens before the config's own error log is up, and the config's
  // error log when it names none. Problems go to stderr as well, as nginx's do.
  const early = await openEarlyLog(runtime, opts.errorLog, prefix);
  const report = (level: LogLevel, message: string) => {
    err(`streamlb: [${level}] ${message}\n`);
    early.logger?.log(level, message);
  };
  const defaultErrorLog: ErrorLogConfig | undefined = early.path === null ? undefined : { path: early.path, level: "error" };

  const read = () => (opts.config === null ? ctx.defaultConfig : readConfigFile(file));
  let recorded = new RecordedFiles(configFiles);
  // Used at start and again by every reload; relative log paths resolve against the prefix.
  const load = async (warn: (message: string) => void): Promise<Config> => {
    const text = read();
    recorded = new RecordedFiles(configFiles);
    recorded.add(file, text);
    const config = parseConfig(text, file, {
      files: recorded,
      onWarning: (w) => warn(formatWarning(w)),
      globals: opts.globals ?? undefined,
      defaultErrorLog,
    });
    // Names nginx resolves while reading (set_real_ip_from NAME): at start, -t and each reload.
    const looked = await lookUpHostNames(config, lookupHost);
    return prefixPaths(looked, (path) => resolve(prefix, path));
  };
  let config: Config;
  try {
    config = await load((w) => report("warn", w));
  } catch (e) {
    report("emerg", describe(e, file));
    if (opts.test) err(`streamlb: configuration file ${file} test failed\n`);
    await early.close();
    return 1;
  }
  await early.close();

  const pidFile = resolve(prefix, config.pid ?? "streamlb.pid");
  if (opts.test) {
    if (!opts.quiet) err(`streamlb: the configuration file ${file} syntax is ok\n`);
    const failed = await openConfiguredFiles(runtime, config, pidFile);
    if (failed !== null) {
      err(`streamlb: [emerg] ${failed}\n`);
      err(`streamlb: configuration file ${file} test failed\n`);
      return 1;
    }
    if (!opts.quiet) err(`streamlb: configuration file ${file} test is successful\n`);
    if (opts.dump) out(dumpFiles(recorded.files()));
    return 0;
  }

  if (opts.signal !== null) return signalRunning(runtime, pidFile, CONTROL_SIGNALS[opts.signal]);

  if (opts.command === "demo" && !runtime.processes?.worker) {
    const chatLog = (line: string) => out(`${line}\n`);
    try {
      await Promise.all([startChatServer(6000, chatLog), startChatServer(6002, chatLog)]);
    } catch (e) {
      err(`streamlb: [emerg] demo chat servers could not start: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    out(`demo: chat servers on 127.0.0.1:6000 and 127.0.0.1:6002; connect with: nc 127.0.0.1 8000\n`);
  }
  const processes = runtime.processes;
  const worker = processes?.worker ?? null;
  if (worker) return new Controller({ runtime, config, load, pidFile: null, worker }).run();
  const count = workerCount(config, processes);
  if (processes && count > 1) return new Master({ runtime, processes, config, count, load, pidFile }).run();
  return new Controller({ runtime, config, load, pidFile }).run();
}

async function signalRunning(runtime: Runtime, pidFile: string, signal: SignalName): Promise<number> {
  let text: string;
  try {
    text = await runtime.readTextFile(pidFile);
  } catch {
    runtime.writeStderr(`streamlb: [error] open() "${pidFile}" failed (2: No such file or directory)\n`);
    return 1;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    runtime.writeStderr(`streamlb: [error] invalid PID number "${text.trim()}" in "${pidFile}"\n`);
    return 1;
  }
  try {
    runtime.sendSignal(pid, signal);
  } catch (e) {
    runtime.writeStderr(`streamlb: [error] kill(${pid}, ${signal}) failed (${e instanceof Error ? e.message : String(e)})\n`);
    return 1;
  }
  return 0;
}

function describe(e: unknown, file: string): string {
  if (e instanceof ConfigError) return e.message;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string") return `open() "${file}" failed (${describeFileError(e)})`;
  const msg = e instanceof Error ? e.message : String(e);
  return /\bno such file|ENOENT|NotFound/i.test(msg) ? `open() "${file}" failed (2: No such file or directory)` : msg;
}

interface EarlyLog {
  /** The -e file, absolute; null for stderr (or no -e). */
  readonly path: string | null;
  readonly logger: ReturnType<typeof createLogger> | null;
  close(): Promise<void>;
}

/** Opens -e's file; one that cannot be opened is an alert, and stderr serves, as in nginx. */
async function openEarlyLog(runtime: Runtime, arg: string | null, prefix: string): Promise<EarlyLog> {
  const none: EarlyLog = { path: null, logger: null, close: async () => undefined };
  if (arg === null || arg === "stderr") return none;
  const path = resolve(prefix, arg);
  let file: LogFile;
  try {
    file = await runtime.openLogFile(path);
  } catch (e) {
    runtime.writeStderr(`streamlb: [alert] could not open error log file: open() "${path}" failed (${describeFileError(e)})\n`);
    return { ...none, path };
  }
  return { path, logger: createLogger((line) => file.write(line), "notice", runtime.pid), close: () => file.close() };
}
