// A running streamlb bound to one runtime: the library API and the CLI both drive this.
//
// One naming: the thing that balances is a Balancer, and each layer around it is named for what
// it adds (the balancer over time, the library's handle) or, for processes, with nginx's names
// (a process's control, the master), from the inside out:
//   Balancer         (balancer.ts)         listeners + upstreams of one config; apply() starts and reloads in place
//   RunningBalancer  (running-balancer.ts) a Balancer with state files and one queue for reloads, changes and stops
//   StreamBalancer   (src/mod.ts)          the library's RunningBalancer: takes config text, hides internals
//   Controller       (controller.ts)       one process as nginx runs it: signals, pid file, error log, admin endpoint
//   Master           (master.ts)           nginx's master process for worker_processes > 1: spawns and restarts
//                                          workers, passes signals on
import { Balancer, type BalancerWorkerOptions, type BoundAddress } from "./balancer.ts";
import type { Config } from "./config/model.ts";
import type { Logger } from "./log.ts";
import type { Runtime } from "./runtime.ts";
import { withUpstreamState } from "./state.ts";

export interface RunningBalancer {
  /** Resolves once every listener is open; rejects if one cannot be (the port is taken...). */
  readonly ready: Promise<void>;
  /** Where it listens (the real port when the config asked for port 0). */
  addresses(): BoundAddress[];
  /** Applies a new config; on error the old one keeps running and the promise rejects. */
  reload(config: Config): Promise<void>;
  /** Stops accepting; live sessions may finish for up to graceMs (0 = no limit). */
  shutdown(graceMs: number): Promise<void>;
  /** Stops listening and closes every live session. */
  close(): Promise<void>;
  /** The balancer itself, for status and runtime changes. */
  readonly balancer: Balancer;
  /**
   * Runs a runtime change (admin API) in turn with reloads and stops, so a reload never
   * reads a state file that a change is still writing.
   */
  exclusive<T>(job: () => Promise<T>): Promise<T>;
}

export function startRunningBalancer(
  runtime: Runtime,
  config: Config,
  logger: Logger,
  /** In a worker process (worker_processes > 1); null in a lone process. */
  worker: BalancerWorkerOptions | null = null,
): RunningBalancer {
  for (const notice of runtime.notices ?? []) logger.log("notice", notice);
  const balancer = new Balancer(runtime, logger, worker);
  // Upstreams with a `state` file take their servers from it, on start and on every reload.
  const apply = async (next: Config) => balancer.apply(await withUpstreamState(runtime, next));
  let queue: Promise<unknown> = apply(config);
  const ready = queue.then(() => undefined);
  // Reloads and stops run one at a time, in the order they were asked for.
  const serially = <T>(job: () => Promise<T>): Promise<T> => {
    const next = queue.then(job, job);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    ready,
    balancer,
    addresses: () => balancer.addresses(),
    reload: (next) => serially(() => apply(next)),
    exclusive: (job) => serially(job),
    shutdown: (graceMs) => serially(() => balancer.shutdown(graceMs)),
    close: () => serially(() => balancer.close()),
  };
}
