// nginx's time and size grammar (ngx_parse_time / ngx_parse_size in src/core/ngx_parse.c),
// so a value copied from an nginx.conf means the same thing here.

const SECOND = 1;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export type TimeGranularity = "ms" | "s";

// ngx_parse_time's steps: each unit must come after the ones before it.
const Step = { Start: 0, Year: 1, Month: 2, Week: 3, Day: 4, Hour: 5, Min: 6, Sec: 7, Msec: 8, Last: 9 } as const;

/**
 * Parses an nginx time value into milliseconds, or returns null when nginx would say
 * "invalid value". A bare number means seconds. `granularity: "s"` is for directives nginx
 * keeps in seconds (fail_timeout, slow_start): they accept `M` and `y` but not `ms`;
 * millisecond directives (the *_timeout ones) accept `ms` but not `M`/`y`. As in nginx,
 * units go in descending order, each at most once (`1h30m`); spaces may follow a unit
 * (`1h 30m`); a space right after digits ends the value as seconds; a unit need not have
 * digits before it (`1hm` is 1h).
 */
export function parseTime(text: string, granularity: TimeGranularity): number | null {
  const isSec = granularity === "s";
  let step: number = isSec ? Step.Start : Step.Month;
  let valid = false;
  let value = 0;
  let totalMs = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i++]!;
    if (ch >= "0" && ch <= "9") {
      value = value * 10 + (ch.charCodeAt(0) - 48);
      if (value > Number.MAX_SAFE_INTEGER / 1000) return null;
      valid = true;
      continue;
    }
    let next: number;
    let unitMs: number;
    switch (ch) {
      case "y":
        if (step > Step.Start) return null;
        [next, unitMs] = [Step.Year, 365 * DAY * 1000];
        break;
      case "M":
        if (step >= Step.Month) return null;
        [next, unitMs] = [Step.Month, 30 * DAY * 1000];
        break;
      case "w":
        if (step >= Step.Week) return null;
        [next, unitMs] = [Step.Week, 7 * DAY * 1000];
        break;
      case "d":
        if (step >= Step.Day) return null;
        [next, unitMs] = [Step.Day, DAY * 1000];
        break;
      case "h":
        if (step >= Step.Hour) return null;
        [next, unitMs] = [Step.Hour, HOUR * 1000];
        break;
      case "m":
        if (text[i] === "s") {
          if (isSec || step >= Step.Msec) return null;
          i++;
          [next, unitMs] = [Step.Msec, 1];
          break;
        }
        if (step >= Step.Min) return null;
        [next, unitMs] = [Step.Min, MINUTE * 1000];
        break;
      case "s":
        if (step >= Step.Sec) return null;
        [next, unitMs] = [Step.Sec, SECOND * 1000];
        break;
      case " ":
        if (step >= Step.Sec) return null;
        [next, unitMs] = [Step.Last, SECOND * 1000];
        break;
      default:
        return null;
    }
    step = next;
    totalMs += value * unitMs;
    if (totalMs > Number.MAX_SAFE_INTEGER) return null;
    value = 0;
    while (text[i] === " ") i++;
  }
  if (!valid) return null;
  // A trailing bare number counts as seconds (nginx: `value * 1000` for ms directives).
  totalMs += value * 1000;
  return totalMs > Number.MAX_SAFE_INTEGER ? null : totalMs;
}

/** nginx sizes: bytes, or k/K, m/M (x1024). Returns null where nginx says "invalid value". */
export function parseSize(text: string): number | null {
  const m = /^(\d+)([kKmM]?)$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const scale = unit === "k" ? 1024 : unit === "m" ? 1024 * 1024 : 1;
  const size = n * scale;
  return Number.isSafeInteger(size) ? size : null;
}

/** Formats milliseconds back into the shortest nginx spelling (used by `convert`). */
export function formatTime(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 1000 !== 0) {
    // parseTime takes at most MAX_SAFE_INTEGER / 1000 in one number (nginx's overflow bound),
    // so a longer time is written as its whole seconds, then the milliseconds.
    const rest = ms % 1000;
    return ms > Number.MAX_SAFE_INTEGER / 1000 ? `${formatTime(ms - rest)}${rest}ms` : `${ms}ms`;
  }
  const s = ms / 1000;
  for (const [suffix, n] of [["d", DAY], ["h", HOUR], ["m", MINUTE]] as const) {
    if (s % n === 0) return `${s / n}${suffix}`;
  }
  return `${s}s`;
}

export function formatSize(bytes: number): string {
  if (bytes !== 0 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}m`;
  if (bytes !== 0 && bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}
