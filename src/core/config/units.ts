// nginx's time and size grammar (ngx_parse_time / ngx_parse_size in src/core/ngx_parse.c),
// so a value copied from an nginx.conf means the same thing here.

const SECOND = 1;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Units in the only order nginx accepts them: each must come after the previous one.
const UNITS: ReadonlyArray<{ suffix: string; seconds: number; secondsOnly: boolean }> = [
  { suffix: "y", seconds: 365 * DAY, secondsOnly: true },
  { suffix: "M", seconds: 30 * DAY, secondsOnly: true },
  { suffix: "w", seconds: 7 * DAY, secondsOnly: false },
  { suffix: "d", seconds: DAY, secondsOnly: false },
  { suffix: "h", seconds: HOUR, secondsOnly: false },
  { suffix: "m", seconds: MINUTE, secondsOnly: false },
  { suffix: "s", seconds: SECOND, secondsOnly: false },
  { suffix: "ms", seconds: 0.001, secondsOnly: false },
];

export type TimeGranularity = "ms" | "s";

/**
 * Parses an nginx time value into milliseconds, or returns null when nginx would say
 * "invalid value". A bare number means seconds. `granularity: "s"` is for directives nginx
 * keeps in seconds (fail_timeout, slow_start): they accept `M` and `y` but not `ms`;
 * millisecond directives (the *_timeout ones) accept `ms` but not `M`/`y`.
 */
export function parseTime(text: string, granularity: TimeGranularity): number | null {
  let totalMs = 0;
  let value = 0;
  let digits = false;
  let pending = false; // digits read since the last unit
  let next = granularity === "s" ? 0 : 2; // index into UNITS of the first unit still allowed
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch >= "0" && ch <= "9") {
      value = value * 10 + (ch.charCodeAt(0) - 48);
      if (value > Number.MAX_SAFE_INTEGER / 1000) return null;
      digits = true;
      pending = true;
      i++;
      continue;
    }
    if (ch === " ") {
      i++;
      continue;
    }
    const isMs = ch === "m" && text[i + 1] === "s";
    const suffix = isMs ? "ms" : ch;
    const index = UNITS.findIndex((u) => u.suffix === suffix);
    if (index < 0 || index < next || !pending) return null;
    const unit = UNITS[index]!;
    if (unit.secondsOnly && granularity === "ms") return null;
    if (suffix === "ms" && granularity === "s") return null;
    totalMs += Math.round(value * unit.seconds * 1000);
    value = 0;
    pending = false;
    next = index + 1;
    i += suffix.length;
  }
  if (!digits) return null;
  // A trailing bare number counts as seconds (nginx: `value * 1000` for ms directives).
  if (pending) totalMs += value * 1000;
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
  if (ms % 1000 !== 0) return `${ms}ms`;
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
