// The error log: nginx's levels and line shape, so operators' greps keep working.
import { LOG_LEVELS, type LogLevel } from "./config/model.ts";

export interface Logger {
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, message: string): void;
}

/** A logger whose level a reload can change. */
export interface LevelLogger extends Logger {
  setLevel(level: LogLevel): void;
}

const RANK: Record<LogLevel, number> = Object.fromEntries(LOG_LEVELS.map((l, i) => [l, i])) as Record<
  LogLevel,
  number
>;

/**
 * `2026/11/21 05:20:00 [warn] 4242#0: message`, as nginx writes it. `write` gets the line's
 * level too: a set of logs (error-log-sinks.ts) lets each one filter by its own.
 */
export function createLogger(write: (line: string, level: LogLevel) => void, level: LogLevel, pid: number): LevelLogger {
  let min = RANK[level];
  return {
    setLevel: (l) => void (min = RANK[l]),
    enabled: (l) => RANK[l] >= min,
    log(l, message) {
      if (RANK[l] < min) return;
      write(`${timestamp(new Date())} [${l}] ${pid}#0: ${message}\n`, l);
    },
  };
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(
      d.getSeconds(),
    )
  }`;
}
