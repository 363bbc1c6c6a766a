// The command line, in nginx's style (-c -p -s -t -v -V -h), plus `streamlb demo`.
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "./core/config/errors.ts";
import { parseConfig } from "./core/config/load.ts";
import { formatWarning } from "./core/config/nginx.ts";
import type { Config } from "./core/config/model.ts";
import { Controller } from "./core/controller.ts";
import { Master, workerCount } from "./core/workers.ts";
import type { Runtime, SignalName } from "./core/runtime.ts";
import { runConvert } from "./convert.ts";
import { startChatServer } from "./demo/chat-server.ts";
import { configFiles } from "./runtime/files.ts";
import { readConfigFile } from "./runtime/config-file.ts";
import { VERSION } from "./version.ts";

export const EMBEDDED_CONFIG_NAME = "<embedded default>";

const USAGE = `Usage: streamlb [-?hvVt] [-s signal] [-p prefix] [-c filename]
       streamlb demo
       streamlb convert FILE [--to yaml|nginx]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and runtime, then exit
  -t            : test configuration and exit
  -s signal     : send signal to the running instance: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: the config file's directory, or the
                  current directory with the embedded config); relative pid and
                  log paths resolve against it
  -c filename   : set configuration file (default: the embedded default config)

Commands:
  demo          : start two chat servers on 127.0.0.1:6000 and :6002 and the balancer on
                  :8000 (the embedded default); then run \`nc 127.0.0.1 8000\` twice
  convert       : print FILE (an nginx.conf or a streamlb YAML config) in the other
                  spelling, or in the one --to names
`;

/**
 * What `-s` sends. `stop` sends INT rather than nginx's TERM: TERM drains when
 * shutdown_grace is set (containers), and `-s stop` must always stop at once.
 */
const CONTROL_SIGNALS: Record<string, SignalName> = {
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

  let args;
  try {
    args = parseArgs({
      args: [...ctx.argv],
      allowPositionals: true,
      options: {
        c: { type: "string" },
        p: { type: "string" },
        s: { type: "string" },
        t: { type: "boolean" },
        v: { type: "boolean" },
        V: { type: "boolean" },
        h: { type: "boolean" },
        "?": { type: "boolean" },
        help: { type: "boolean" },
        version: { type: "boolean" },
        to: { type: "string" },
      },
    });
  } catch (e) {
    err(`streamlb: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = args;

  if (values.h || values["?"] || values.help) {
    out(USAGE);
    return 0;
  }
  if (values.v || values.version) {
    out(`streamlb version: streamlb/${VERSION}\n`);
    return 0;
  }
  if (values.V) {
    out(`streamlb version: streamlb/${VERSION}\nruntime: ${runtime.name} ${runtime.version}\n`);
    return 0;
  }

  const command = positionals[0];
  if (command === "convert") return runConvert(runtime, positionals.slice(1), values.to);
  if (command !== undefined && command !== "demo") {
    err(`streamlb: unknown command "${command}"\n${USAGE}`);
    return 1;
  }
  if (values.s !== undefined && !(values.s in CONTROL_SIGNALS)) {
    err(`streamlb: invalid option: "-s ${values.s}" (expected stop, quit, reopen or reload)\n`);
    return 1;
  }

  // nginx would read the prefix directory as the file; an empty name is a slip, said as one.
  if (values.c === "") {
    err(`streamlb: option "-c" requires file name\n`);
    return 1;
  }
  const prefix = resolve(ctx.cwd, values.p ?? (values.c !== undefined ? dirname(resolve(ctx.cwd, values.c)) : "."));
  const file = values.c === undefined ? EMBEDDED_CONFIG_NAME : resolve(values.p ? prefix : ctx.cwd, values.c);
  const read = () => (values.c === undefined ? ctx.defaultConfig : readConfigFile(file));
  // Used at start and again by every reload; relative log paths resolve against the prefix.
  const load = async (warn: (message: string) => void): Promise<Config> => {
    const parsed = parseConfig(read(), file, { files: configFiles, onWarning: (w) => warn(formatWarning(w)) });
    return withPrefix(parsed, prefix);
  };
  let config: Config;
  try {
    config = await load((w) => err(`streamlb: [warn] ${w}\n`));
  } catch (e) {
    err(`streamlb: [emerg] ${describe(e, file)}\n`);
    if (values.t) err(`streamlb: configuration file ${file} test failed\n`);
    return 1;
  }
  if (values.t) {
    err(`streamlb: the configuration file ${file} syntax is ok\n`);
    err(`streamlb: configuration file ${file} test is successful\n`);
    return 0;
  }

  const pidFile = resolve(prefix, config.pid ?? "streamlb.pid");
  if (values.s !== undefined) return signalRunning(runtime, pidFile, CONTROL_SIGNALS[values.s]!);

  if (command === "demo" && !runtime.processes?.worker) {
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

/** Relative log and state paths resolve against the prefix, as nginx's do. */
function withPrefix(config: Config, prefix: string): Config {
  const at = (path: string) => resolve(prefix, path);
  const upstreams = new Map([...config.stream.upstreams].map(([name, u]) => [name, u.state ? { ...u, state: at(u.state) } : u]));
  const servers = config.stream.servers.map((s) =>
    s.accessLog.length ? { ...s, accessLog: s.accessLog.map((l) => ({ ...l, path: at(l.path) })) } : s,
  );
  return {
    ...config,
    errorLog: config.errorLog.path === "stderr" ? config.errorLog : { ...config.errorLog, path: at(config.errorLog.path) },
    stream: { ...config.stream, upstreams, servers },
  };
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
  const msg = e instanceof Error ? e.message : String(e);
  return /\bno such file|ENOENT|NotFound/i.test(msg) ? `open() "${file}" failed (2: No such file or directory)` : msg;
}
