// nginx's complex values ("text $var ${var}text $1"): the one splitter of `$variable`
// syntax in streamlb (hash keys, log_format, map, split_clients, set and return all use
// it), and a value compiled once into parts that a session evaluates lazily.
import type { VariableRegistry } from "./registry.ts";
import type { VariableScope } from "./context.ts";

/** A piece of source text: literal text, a variable by name, or a regex capture $1..$9. */
export type Piece = { readonly text: string } | { readonly name: string } | { readonly capture: number };

/**
 * Bad `$` syntax. `reason` lets callers word it as their nginx module does (log_format
 * says `invalid parameter "…"` from `at`); `message` is the script compiler's wording.
 */
export class VariableSyntaxError extends Error {
  override readonly name = "VariableSyntaxError";
  constructor(
    readonly reason: "name" | "bracket",
    /** Offset of the `$` in the source. */
    readonly at: number,
    readonly variable: string,
  ) {
    super(reason === "name" ? "invalid variable name" : `the closing bracket in "${variable}" variable is missing`);
  }
}

const isNameChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;

export interface SplitOptions {
  /** `$1`..`$9` are one-digit captures (complex values); off, digits are name characters (log_format). */
  readonly captures: boolean;
}

/** Splits `source` as ngx_stream_script_compile reads it; throws VariableSyntaxError. */
export function splitVariables(source: string, options: SplitOptions = { captures: true }): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  while (i < source.length) {
    if (source.charCodeAt(i) !== 0x24) {
      const next = source.indexOf("$", i);
      const end = next < 0 ? source.length : next;
      pieces.push({ text: source.slice(i, end) });
      i = end;
      continue;
    }
    const at = i;
    if (++i === source.length) throw new VariableSyntaxError("name", at, "");
    const c = source.charCodeAt(i);
    if (options.captures && c >= 0x31 && c <= 0x39) {
      pieces.push({ capture: c - 0x30 });
      i++;
      continue;
    }
    let bracket = false;
    if (c === 0x7b) {
      bracket = true;
      if (++i === source.length) throw new VariableSyntaxError("name", at, "");
    }
    const start = i;
    while (i < source.length && isNameChar(source.charCodeAt(i))) i++;
    const name = source.slice(start, i);
    if (bracket) {
      if (source.charCodeAt(i) !== 0x7d) throw new VariableSyntaxError("bracket", at, name);
      i++;
    }
    if (name === "") throw new VariableSyntaxError("name", at, name);
    pieces.push({ name });
  }
  return pieces;
}

/** True when `source` names no variable at all (nginx then keeps it as plain text). */
export function hasVariables(source: string): boolean {
  return source.includes("$");
}

/**
 * A compiled complex value. Parts are literal strings, variable indexes (>= 0) or
 * captures (-1..-9), so evaluation is one loop with no lookups by name.
 */
export class ComplexValue {
  private constructor(
    readonly source: string,
    private readonly parts: readonly (string | number)[],
    /** The whole value when it has no variables and no captures. */
    readonly constant: string | null,
  ) {}

  /**
   * Compiles against `registry`: names get indexes (a later map/geo/set may define them;
   * the registry's check() reports what stays unknown). Throws VariableSyntaxError.
   */
  static compile(source: string, registry: VariableRegistry): ComplexValue {
    const parts: (string | number)[] = [];
    for (const p of splitVariables(source)) {
      if ("text" in p) parts.push(p.text);
      else if ("name" in p) parts.push(registry.index(p.name));
      else parts.push(-p.capture);
    }
    const constant = parts.every((p) => typeof p === "string") ? parts.join("") : null;
    return new ComplexValue(source, parts, constant);
  }

  /** The registry indexes this value reads (for callers that check or flag them). */
  get indexes(): number[] {
    return this.parts.filter((p): p is number => typeof p === "number" && p >= 0);
  }

  /** The value for one session; a not-found variable or unset capture contributes "". */
  evaluate(s: VariableScope): string {
    if (this.constant !== null) return this.constant;
    let out = "";
    for (const p of this.parts) {
      if (typeof p === "string") out += p;
      else if (p >= 0) out += s.get(p) ?? "";
      else out += s.captures?.[-p] ?? "";
    }
    return out;
  }
}
