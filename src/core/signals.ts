// The signals nginx does not act on (or not yet here) must never end the process: most of them
// kill it by default, and a stray `kill -ALRM` or a terminal's WINCH is no reason to drop every
// session. Controller and Master wire their own (HUP, QUIT, TERM, INT, USR1) and these.
import type { Logger } from "./log.ts";
import type { Runtime, SignalName } from "./runtime.ts";

/** nginx's binary upgrade (USR2 starts a new binary, WINCH stops the old workers): upgrade.ts. */
export const UPGRADE_SIGNALS: readonly SignalName[] = ["SIGUSR2", "SIGWINCH"];

/**
 * Catchable signals whose default action ends the process and that nginx ignores or we have
 * no use for. SIGPIPE is here although the runtimes ignore it already: it costs nothing to say.
 */
export const IGNORED_SIGNALS: readonly SignalName[] = [
  "SIGALRM",
  "SIGPIPE",
  "SIGVTALRM",
  "SIGPROF",
  "SIGIO",
  "SIGPWR",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGSTKFLT",
];

/** Linux's numbers, for nginx's `signal 14 (SIGALRM) received` line. */
const NUMBERS: Partial<Record<SignalName, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
};

export function signalNumber(signal: SignalName): number {
  return NUMBERS[signal] ?? 0;
}

/**
 * Handles the otherwise fatal signals: each is logged and the process carries on. The upgrade
 * signals too, unless `upgrade` handles them (a worker leaves them to its master). A runtime
 * that cannot catch one (Deno has a fixed list) leaves it out; returns those.
 */
export function keepAliveOnSignals(
  runtime: Runtime,
  logger: Logger,
  upgrade: { usr2(): void; winch(): void } | null = null,
): SignalName[] {
  const uncaught: SignalName[] = [];
  const on = (signal: SignalName, what: string) => {
    try {
      runtime.onSignal(signal, () => logger.log("notice", `signal ${signalNumber(signal)} (${signal}) received, ${what}`));
    } catch {
      uncaught.push(signal);
    }
  };
  if (upgrade) {
    for (const [signal, run] of [["SIGUSR2", upgrade.usr2], ["SIGWINCH", upgrade.winch]] as const) {
      try {
        runtime.onSignal(signal, run);
      } catch {
        uncaught.push(signal);
      }
    }
  } else {
    for (const s of UPGRADE_SIGNALS) on(s, "ignoring (the master process acts on it)");
  }
  for (const s of IGNORED_SIGNALS) on(s, "ignoring");
  return uncaught;
}
