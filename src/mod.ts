// The library API: put a real streamlb in front of your own servers, from Node, Deno or Bun.
//   const lb = startBalancer(yamlText); await lb.ready; ... await lb.close();
import { lookUpHostNames } from "./core/config/host-names.ts";
import { parseConfig } from "./core/config/load.ts";
import { formatWarning } from "./core/config/read-nginx/files.ts";
import type { Config, LogLevel } from "./core/config/model.ts";
import { type RunningBalancer, startRunningBalancer } from "./core/running-balancer.ts";
import { createLogger, type Logger } from "./core/log.ts";
import type { Runtime } from "./core/runtime.ts";
import { detectRuntime } from "./runtime/detect.ts";
import { configFiles } from "./runtime/files.ts";
import { lookupHost } from "./runtime/host-lookup.ts";

export { parseConfig } from "./core/config/load.ts";
export { ConfigError } from "./core/config/errors.ts";
export type { Config } from "./core/config/model.ts";
export type { RunningBalancer } from "./core/running-balancer.ts";
export type { BoundAddress } from "./core/balancer.ts";
export type { Logger } from "./core/log.ts";
export { VERSION } from "./version.ts";

export interface StartOptions {
  /** Where error-log lines go; by default stderr at the config's level. */
  readonly logger?: Logger;
  readonly logLevel?: LogLevel;
  /** Defaults to the runtime this code runs on. */
  readonly runtime?: Runtime;
}

/** A running balancer as the library hands it out; reload also takes config text. */
export interface StreamBalancer extends Omit<RunningBalancer, "reload" | "balancer" | "exclusive"> {
  reload(config: Config | string): Promise<void>;
}

/** Starts a balancer from a Config or from config text (YAML or nginx.conf). */
export function startBalancer(config: Config | string, options: StartOptions = {}): StreamBalancer {
  const parsed = asConfig(config);
  let instance: RunningBalancer | null = null;
  const pending = (options.runtime ? Promise.resolve(options.runtime) : detectRuntime()).then((runtime) => {
    const logger = options.logger ??
      createLogger((line) => runtime.writeStderr(line), options.logLevel ?? parsed.errorLog.level, runtime.pid);
    // set_real_ip_from NAME: looked up with the system's resolver, as nginx does at load.
    return lookUpHostNames(parsed, lookupHost).then((looked) => instance = startRunningBalancer(runtime, looked, logger));
  });
  return {
    ready: pending.then((i) => i.ready),
    addresses() {
      if (!instance) throw new Error("addresses() is available once ready has resolved");
      return instance.addresses();
    },
    reload: (next) => pending.then(async (i) => i.reload(await lookUpHostNames(asConfig(next), lookupHost))),
    shutdown: (graceMs) => pending.then((i) => i.shutdown(graceMs)),
    close: () => pending.then((i) => i.close()),
  };
}

function asConfig(config: Config | string): Config {
  if (typeof config !== "string") return config;
  // The runtime (and its stderr) is not known yet here; console.warn reaches stderr on all three.
  return parseConfig(config, "<inline config>", {
    files: configFiles,
    onWarning: (w) => console.warn(`streamlb: [warn] ${formatWarning(w)}`),
  });
}
