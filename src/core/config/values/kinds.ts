// Value kinds: what one setting's value is, read from each spelling (nginx words, YAML nodes,
// the admin API's JSON) and written back. A schema row names its kind, so a bound or a unit
// lives in one place and every reader and writer agrees on it.
import type { Node } from "yaml";
import { formatSize, formatTime, parseSize, parseTime, type TimeGranularity } from "./units.ts";
import type { YamlWalker } from "../read-yaml/walker.ts";
import { nginxWord, yamlScalar } from "./quote.ts";

/** What nginx's own table says of the argument (read-nginx/values.ts checks it, as the directive table says, before any setter). */
export type NginxValueCheck = "time" | "time_s" | "size" | "number" | null;

export interface ValueKind<T> {
  /** nginx takes the directive as FLAG (on/off) rather than TAKE1. */
  readonly flag: boolean;
  readonly nginxCheck: NginxValueCheck;
  /** One nginx word → the value; null where nginx refuses it. */
  fromWord(word: string): T | null;
  /** nginx's message for a directive whose argument fromWord refused. */
  directiveError(name: string, word: string): string;
  fromYaml(w: YamlWalker, node: Node | null, what: string): T;
  /** An admin-API JSON value → the value; null where it is not one. */
  fromJson(v: unknown): T | null;
  /** The admin API's message for a JSON value fromJson refused. */
  jsonError(key: string): string;
  toWord(v: T): string;
  toYaml(v: T): string;
  /** nginx words of valid values, for tests generated from the schema (one differs from any default). */
  readonly samples: readonly string[];
  /** A whole number's bounds, the same in every spelling. */
  readonly bounds?: { readonly min: number; readonly max: number };
}

const invalidValue = (name: string) => `"${name}" directive invalid value`;

/** ngx_atoi: digits only, not empty; null where nginx returns NGX_ERROR. */
export function atoi(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

export function timeKind(granularity: TimeGranularity): ValueKind<number> {
  return {
    flag: false,
    nginxCheck: granularity === "s" ? "time_s" : "time",
    fromWord: (word) => parseTime(word, granularity),
    directiveError: invalidValue,
    fromYaml: (w, node, what) => w.time(node, what, granularity),
    // Whole seconds as a number, or a time as text.
    fromJson: (v) =>
      // Whole seconds go through the reader's own parser, so the API takes no number a state
      // file could not hold back (beyond parseTime's bound the next start would fail).
      typeof v === "number" && Number.isInteger(v) && v >= 0
        ? parseTime(String(v), "s")
        : typeof v === "string"
        ? parseTime(v, granularity)
        : null,
    jsonError: (key) => `"${key}" must be a time such as "10s" (or whole seconds)`,
    toWord: formatTime,
    toYaml: formatTime,
    samples: ["7s", "20s"],
  };
}

export const TIME_MS = timeKind("ms");
export const TIME_S = timeKind("s");

export const SIZE: ValueKind<number> = {
  flag: false,
  nginxCheck: "size",
  fromWord: parseSize,
  directiveError: invalidValue,
  fromYaml: (w, node, what) => w.size(node, what),
  fromJson: (v) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : typeof v === "string" ? parseSize(v) : null),
  jsonError: (key) => `"${key}" must be a size such as "16k" (or bytes)`,
  toWord: formatSize,
  toYaml: formatSize,
  samples: ["4k", "8k"],
};

/**
 * proxy_upload_rate / proxy_download_rate: a size, or text with variables that each session
 * evaluates to one when its upstream connects (nginx's complex value size slot).
 */
export const RATE: ValueKind<number | string> = {
  ...(SIZE as ValueKind<number | string>),
  // Checked here, not by nginx's size check: a value with variables is no size yet.
  nginxCheck: null,
  fromWord: (word) => (word.includes("$") ? word : parseSize(word)),
  fromYaml: (w, node, what) => {
    const v = w.scalar(node, what);
    return typeof v === "string" && v.includes("$") ? v : w.size(node, what);
  },
  toWord: (v) => (typeof v === "string" ? v : formatSize(v)),
  toYaml: (v) => (typeof v === "string" ? yamlScalar(v) : formatSize(v)),
};

/** A whole number within bounds that every spelling shares. */
export function intKind(min: number, max = Number.MAX_SAFE_INTEGER): ValueKind<number> {
  const inRange = (n: number | null) => (n !== null && n >= min && n <= max ? n : null);
  return {
    bounds: { min, max },
    samples: [String(min + 3), String(min + 4)],
    flag: false,
    nginxCheck: "number",
    fromWord: (word) => inRange(atoi(word)),
    directiveError: (name) => `"${name}" directive invalid number`,
    fromYaml: (w, node, what) => w.int(node, what, min, max),
    fromJson: (v) => (typeof v === "number" && Number.isInteger(v) ? inRange(v) : null),
    jsonError: (key) => `"${key}" must be a whole number from ${min} to ${max}`,
    toWord: String,
    toYaml: String,
  };
}

export const FLAG: ValueKind<boolean> = {
  flag: true,
  nginxCheck: null,
  // on/off in any case (ngx_strcasecmp).
  fromWord: (word) => (word.toLowerCase() === "on" ? true : word.toLowerCase() === "off" ? false : null),
  directiveError: (name, word) => `invalid value "${word}" in "${name}" directive, it must be "on" or "off"`,
  fromYaml: (w, node, what) => w.flag(node, what),
  fromJson: (v) => (typeof v === "boolean" ? v : null),
  jsonError: (key) => `"${key}" must be true or false`,
  toWord: (v) => (v ? "on" : "off"),
  toYaml: (v) => (v ? "true" : "false"),
  samples: ["on", "off"],
};

/** proxy_protocol: off, on (v1) or v2 (1.31.4), an enum nginx matches case-insensitively. */
export const PROXY_PROTOCOL_VERSION: ValueKind<"off" | "on" | "v2"> = {
  flag: false,
  nginxCheck: null,
  fromWord: (word) => {
    const w = word.toLowerCase();
    return w === "off" || w === "on" || w === "v2" ? w : null;
  },
  directiveError: (name, word) => `invalid value "${word}" in "${name}" directive, it must be "on" or "off"`,
  fromYaml: (w, node, what) => {
    const v = w.scalar(node, what);
    if (typeof v === "boolean") return v ? "on" : "off";
    const word = String(v).toLowerCase();
    if (word === "off" || word === "on" || word === "v2") return word;
    return w.fail(node, `invalid ${what} "${String(v)}": expected on, off or v2`);
  },
  fromJson: (v) => (v === "off" || v === "on" || v === "v2" ? v : null),
  jsonError: (key) => `"${key}" must be "on", "off" or "v2"`,
  toWord: (v) => v,
  toYaml: (v) => v,
  samples: ["on", "v2", "off"],
};

/** Free text: a path, a name. */
export const TEXT: ValueKind<string> = {
  flag: false,
  nginxCheck: null,
  fromWord: (word) => word,
  directiveError: invalidValue,
  fromYaml: (w, node, what) => w.string(node, what),
  fromJson: (v) => (typeof v === "string" ? v : null),
  jsonError: (key) => `"${key}" must be text`,
  toWord: nginxWord,
  toYaml: yamlScalar,
  samples: ["/run/sample.pid"],
};

/** A whole number within bounds, or `auto` (worker_processes). */
export function intOrAutoKind(min: number, max: number): ValueKind<number | "auto"> {
  const int = intKind(min, max);
  return {
    flag: false,
    nginxCheck: null,
    fromWord: (word) => (word === "auto" ? "auto" : int.fromWord(word)),
    directiveError: invalidValue,
    fromYaml: (w, node, what) => (w.scalarValue(node) === "auto" ? "auto" : int.fromYaml(w, node, what)),
    fromJson: (v) => (v === "auto" ? "auto" : int.fromJson(v)),
    jsonError: (key) => `"${key}" must be "auto" or a whole number from ${min} to ${max}`,
    samples: ["auto", ...int.samples],
    bounds: { min, max },
    toWord: String,
    toYaml: String,
  };
}
