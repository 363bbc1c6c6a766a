// The command line, in nginx's style (-c -t -v -V -h), plus `streamlb demo`.
import { parseArgs } from "node:util";
import { ConfigError } from "./core/config/errors.ts";
import { parseConfig } from "./core/config/load.ts";
import { formatWarning } from "./core/config/nginx.ts";
import type { Config } from "./core/config/model.ts";
import { startInstance } from "./core/instance.ts";
import { createLogger } from "./core/log.ts";
import type { Runtime } from "./core/runtime.ts";
import { runConvert } from "./convert.ts";
import { startChatServer } from "./demo/chat-server.ts";
import { configFiles } from "./runtime/files.ts";
import { VERSION } from "./version.ts";

export const EMBEDDED_CONFIG_NAME = "<embedded default>";

const USAGE = `Usage: streamlb [-?hvVt] [-c file]
       streamlb demo
       streamlb convert FILE [--to yaml|nginx]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and runtime, then exit
  -t            : test configuration and exit
  -c filename   : set configuration file (default: the embedded default config)

Commands:
  demo          : start two chat servers on 127.0.0.1:6000 and :6002 and the balancer on
                  :8000 (the embedded default); then run \`nc 127.0.0.1 8000\` twice
  convert       : print FILE (an nginx.conf or a streamlb YAML config) in the other
                  spelling, or in the one --to names
`;

export interface CliContext {
  readonly runtime: Runtime;
  readonly argv: readonly string[];
  /** The config embedded in this build (src/default.yaml). */
  readonly defaultConfig: string;
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

  const file = values.c ?? EMBEDDED_CONFIG_NAME;
  let config: Config;
  try {
    const text = values.c === undefined ? ctx.defaultConfig : await runtime.readTextFile(values.c);
    config = parseConfig(text, file, {
      files: configFiles,
      onWarning: (w) => err(`streamlb: [warn] ${formatWarning(w)}\n`),
    });
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

  if (command === "demo") {
    const chatLog = (line: string) => out(`${line}\n`);
    await Promise.all([startChatServer(6000, chatLog), startChatServer(6002, chatLog)]).catch((e: unknown) => {
      err(`streamlb: [emerg] demo chat servers could not start: ${e instanceof Error ? e.message : String(e)}\n`);
      runtime.exit(1);
    });
    out(`demo: chat servers on 127.0.0.1:6000 and 127.0.0.1:6002; connect with: nc 127.0.0.1 8000\n`);
  }
  return serve(runtime, config);
}

async function serve(runtime: Runtime, config: Config): Promise<number> {
  const sink = config.errorLog.path === "stderr" ? null : await runtime.openLogFile(config.errorLog.path);
  const logger = createLogger(
    (line) => (sink ? sink.write(line) : runtime.writeStderr(line)),
    config.errorLog.level,
    runtime.pid,
  );
  const instance = startInstance(runtime, config, logger);
  try {
    await instance.ready;
  } catch (e) {
    runtime.writeStderr(`streamlb: [emerg] ${describe(e, config.file)}\n`);
    return 1;
  }
  const listening = instance
    .addresses()
    .map((a) => `${a.host}:${a.port}`)
    .join(", ");
  logger.log("notice", `streamlb/${VERSION} on ${runtime.name} ${runtime.version} listening on ${listening}`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.log("notice", `signal ${signal} received, exiting`);
      void instance.close().then(() => resolve(0));
    };
    runtime.onSignal("SIGINT", () => stop("SIGINT"));
    runtime.onSignal("SIGTERM", () => stop("SIGTERM"));
  });
}

function describe(e: unknown, file: string): string {
  if (e instanceof ConfigError) return e.message;
  const msg = e instanceof Error ? e.message : String(e);
  return /\bno such file|ENOENT|NotFound/i.test(msg) ? `open() "${file}" failed (2: No such file or directory)` : msg;
}
