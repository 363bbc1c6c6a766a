// The limit_conn phase (ngx_stream_limit_conn_module's PREACCESS handler): each `limit_conn
// ZONE N` of the server, in order, counts the session under its zone's evaluated key, across
// every worker process (SharedCounters), and a key already at N ends the session with 503.
// A unit taken is given back when the session ends, whatever its outcome.
import type { LimitConnConfig } from "../config/model.ts";
import type { SharedCounters } from "../shared-counters.ts";
import type { ComplexValue } from "../variables/complex-value.ts";
import type { Phase, PhaseSession, PhaseVerdict } from "./phase.ts";

/** nginx stores a key in a node of at most 255 bytes; a longer one is not limited. */
const MAX_KEY_BYTES = 255;
const encoder = new TextEncoder();

/** One `limit_conn` line, with its zone's key compiled. */
export interface CompiledLimit {
  readonly zone: string;
  readonly conn: number;
  readonly key: ComplexValue;
  /** The key as written, for the too-long message. */
  readonly keyText: string;
}

export function limitConnPhase(
  limits: readonly CompiledLimit[],
  config: Pick<LimitConnConfig, "dryRun" | "logLevel">,
  counters: SharedCounters,
): Phase {
  /** `held`: the units this session took so far, as [zone, key] pairs. */
  const run = (s: PhaseSession, from: number, held: string[][]): PhaseVerdict | Promise<PhaseVerdict> => {
    for (let i = from; i < limits.length; i++) {
      const limit = limits[i]!;
      const key = limit.key.evaluate(s.variables);
      if (key.length === 0) continue;
      if (encoder.encode(key).length > MAX_KEY_BYTES) {
        s.logClientError("error", `the value of the "${limit.keyText}" key is more than 255 bytes: "${key}"`);
        continue;
      }
      s.limitConnStatus = "PASSED";
      const taken = counters.acquire(limit.zone, key, limit.conn);
      // Across workers the master answers; alone, the answer is here and costs no tick.
      if (typeof taken === "object") {
        return taken.then((ok) => decided(s, limit, key, ok, held) ?? run(s, i + 1, held));
      }
      const verdict = decided(s, limit, key, taken, held);
      if (verdict !== null) return verdict;
    }
    return "next";
  };

  /** null: go on with the next limit. */
  const decided = (
    s: PhaseSession,
    limit: CompiledLimit,
    key: string,
    taken: boolean,
    held: string[][],
  ): PhaseVerdict | null => {
    if (taken) {
      if (held.length === 0) s.onEnd(() => releaseAll(held));
      held.push([limit.zone, key]);
      return null;
    }
    s.logClientError(
      config.logLevel,
      `limiting connections${config.dryRun ? ", dry run," : ""} by zone "${limit.zone}"`,
    );
    // nginx gives back what earlier zones counted at once, in a dry run too, and checks no more.
    releaseAll(held);
    if (config.dryRun) {
      s.limitConnStatus = "REJECTED_DRY_RUN";
      return "next";
    }
    s.limitConnStatus = "REJECTED";
    return 503;
  };

  const releaseAll = (held: string[][]): void => {
    for (const [zone, key] of held.splice(0)) counters.release(zone!, key!);
  };

  return { name: "pre_access", run: (s) => run(s, 0, []) };
}
