// nginx's map (ngx_stream_map_module): exact keys, hostname wildcards, regexes with
// captures, default, volatile. The config reader hands over the block's lines already
// tokenized (includes expanded); values are complex values expanded at lookup.
import { ComplexValue, VariableSyntaxError } from "./complex-value.ts";
import { type ConfigLoc, VariableError, variableName, type VariableRegistry } from "./registry.ts";
import type { VariableScope } from "./context.ts";

/** One line of a map block: `hostnames;`, `volatile;`, or `KEY VALUE;` (`default V` too). */
export interface MapLine {
  readonly args: readonly string[];
  readonly loc?: ConfigLoc;
}

interface RegexEntry {
  readonly re: RegExp;
  readonly value: ComplexValue;
  /** Registry indexes of named groups, assigned on a match. */
  readonly named: ReadonlyArray<readonly [string, number]>;
}

/** A wildcard key: `*.a.com`/`.a.com` (head) or `www.a.*` (tail), without the wildcard part. */
type Wildcard = { readonly head: string; readonly dot: boolean } | { readonly tail: string };

/** nginx's hostname wildcard forms; null for a plain name, "invalid" for a bad wildcard. */
function parseWildcard(key: string): Wildcard | null | "invalid" {
  const star = key.indexOf("*");
  if (key.startsWith("*.")) return key.length > 2 && key.indexOf("*", 1) < 0 ? { head: key.slice(2), dot: false } : "invalid";
  if (key.startsWith(".")) return key.length > 1 && star < 0 ? { head: key.slice(1), dot: true } : "invalid";
  if (key.endsWith(".*")) return key.length > 2 && star === key.length - 1 ? { tail: key.slice(0, -2) } : "invalid";
  return star < 0 ? null : "invalid";
}

function compileValue(text: string, registry: VariableRegistry, loc?: ConfigLoc): ComplexValue {
  try {
    return ComplexValue.compile(text, registry);
  } catch (e) {
    if (e instanceof VariableSyntaxError) throw new VariableError(e.message, loc);
    throw e;
  }
}

/** PCRE spellings JavaScript lacks: `(?P<name>` named groups. */
function toJsPattern(pattern: string): string {
  return pattern.replace(/\(\?P</g, "(?<");
}

export class VariableMap {
  private readonly exact = new Map<string, ComplexValue>();
  private readonly heads = new Map<string, ComplexValue>();
  private readonly tails = new Map<string, ComplexValue>();
  private readonly regexes: RegexEntry[] = [];
  /**
   * Compiled values by text: a large map has many keys and few values (upstream names), and
   * a ComplexValue is immutable, so one per text serves every key.
   */
  private readonly compiled = new Map<string, ComplexValue>();
  private defaultValue: ComplexValue | null = null;
  private hostnames = false;
  private volatile = false;

  private constructor(readonly source: ComplexValue) {}

  /**
   * `map SOURCE $var { lines }`: compiles and defines `$var` in `registry` (the last map
   * of a name wins, silently, as nginx). Throws VariableError in nginx's words.
   */
  static compile(
    source: string,
    output: string,
    lines: readonly MapLine[],
    registry: VariableRegistry,
    loc?: ConfigLoc,
  ): VariableMap {
    const name = variableName(output, loc);
    const map = new VariableMap(compileValue(source, registry, loc));
    for (const line of lines) map.add(line, registry);
    map.define(name, registry, loc);
    return map;
  }

  private add(line: MapLine, registry: VariableRegistry): void {
    const { args, loc } = line;
    if (args.length === 1 && args[0] === "hostnames") {
      this.hostnames = true;
      return;
    }
    if (args.length === 1 && args[0] === "volatile") {
      this.volatile = true;
      return;
    }
    if (args.length !== 2) throw new VariableError("invalid number of the map parameters", loc);
    const [key, valueText] = args as [string, string];
    let value = this.compiled.get(valueText);
    if (value === undefined) {
      value = compileValue(valueText, registry, loc);
      this.compiled.set(valueText, value);
    }
    if (key === "default") {
      if (this.defaultValue !== null) throw new VariableError("duplicate default map parameter", loc);
      this.defaultValue = value;
      return;
    }
    if (key.length > 1 && key[0] === "~") {
      this.addRegex(key, value, registry, loc);
      return;
    }
    // `\default`, `\~x`: a backslash makes the rest a literal key.
    const literal = (key[0] === "\\" ? key.slice(1) : key).toLowerCase();
    const wildcard = this.hostnames ? parseWildcard(literal) : null;
    if (wildcard === "invalid") throw new VariableError(`invalid hostname or wildcard "${key}"`, loc);
    const conflict = () => new VariableError(`conflicting parameter "${key}"`, loc);
    if (wildcard === null) {
      if (this.exact.has(literal)) throw conflict();
      this.exact.set(literal, value);
    } else if ("head" in wildcard) {
      if (this.heads.has(wildcard.head)) throw conflict();
      // `.a.com` is also the exact name `a.com`.
      if (wildcard.dot) {
        if (this.exact.has(wildcard.head)) throw conflict();
        this.exact.set(wildcard.head, value);
      }
      this.heads.set(wildcard.head, value);
    } else {
      if (this.tails.has(wildcard.tail)) throw conflict();
      this.tails.set(wildcard.tail, value);
    }
  }

  private addRegex(key: string, value: ComplexValue, registry: VariableRegistry, loc?: ConfigLoc): void {
    const caseless = key[1] === "*";
    const pattern = key.slice(caseless ? 2 : 1);
    let re: RegExp;
    try {
      re = new RegExp(toJsPattern(pattern), caseless ? "i" : "");
    } catch (e) {
      const why = e instanceof Error ? e.message.replace(/^Invalid regular expression: /, "") : String(e);
      throw new VariableError(`pcre2_compile() failed: ${why} in "${pattern}"`, loc);
    }
    const named: Array<readonly [string, number]> = [];
    for (const m of toJsPattern(pattern).matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)) {
      const group = m[1]!;
      named.push([group, registry.define(group, "capture", true, () => null)]);
    }
    this.regexes.push({ re, value, named });
  }

  private define(name: string, registry: VariableRegistry, loc?: ConfigLoc): void {
    try {
      registry.define(name, "map", !this.volatile, (s) => this.evaluate(s));
    } catch (e) {
      if (e instanceof VariableError && !e.loc) throw new VariableError(e.message, loc);
      throw e;
    }
  }

  /** The value for one session (ngx_stream_map_find's order). */
  evaluate(s: VariableScope): string {
    const input = this.source.evaluate(s);
    const found = this.find(input, s);
    return found === null ? (this.defaultValue?.evaluate(s) ?? "") : found.evaluate(s);
  }

  private find(input: string, s: VariableScope): ComplexValue | null {
    let key = input.toLowerCase();
    if (this.hostnames && key.endsWith(".")) key = key.slice(0, -1);
    const exact = this.exact.get(key);
    if (exact !== undefined) return exact;
    if (this.heads.size > 0) {
      // Longest head wildcard first: drop one leading label at a time.
      for (let dot = key.indexOf("."); dot >= 0; dot = key.indexOf(".", dot + 1)) {
        const v = this.heads.get(key.slice(dot + 1));
        if (v !== undefined) return v;
      }
    }
    if (this.tails.size > 0) {
      for (let dot = key.lastIndexOf("."); dot > 0; dot = key.lastIndexOf(".", dot - 1)) {
        const v = this.tails.get(key.slice(0, dot));
        if (v !== undefined) return v;
      }
    }
    if (input === "") return null;
    for (const r of this.regexes) {
      const m = r.re.exec(input);
      if (m === null) continue;
      // Captures are session-global in nginx: the last successful match anywhere.
      s.captures = m;
      for (const [group, index] of r.named) {
        const v = m.groups?.[group];
        if (v !== undefined) s.assign(index, v);
      }
      return r.value;
    }
    return null;
  }
}
