// Typed reads of YAML nodes, each failure a ConfigError at the node's line and column.
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, type Scalar, type YAMLMap } from "yaml";
import { ConfigError } from "../errors.ts";
import type { SourceLoc } from "../model.ts";
import { parseSize, parseTime, type TimeGranularity } from "../values/units.ts";

export type Entries = ReadonlyMap<string, { readonly key: Scalar; readonly value: Node | null }>;

export class YamlWalker {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  loc(node: Node | null | undefined): SourceLoc {
    const offset = node?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, col: pos.col };
  }

  fail(node: Node | null | undefined, problem: string): never {
    throw new ConfigError(problem, this.loc(node));
  }

  /** A mapping's entries; keys outside `allowed` are an error naming the key. */
  entries(node: Node | null, what: string, allowed: readonly string[]): Entries {
    if (!isMap(node)) this.fail(node, `${what} must be a mapping`);
    const out = new Map<string, { key: Scalar; value: Node | null }>();
    for (const pair of (node as YAMLMap).items as Pair<unknown, unknown>[]) {
      const key = pair.key;
      if (!isScalar(key)) this.fail(node, `${what} has a key that is not a plain name`);
      const name = String(key.value);
      if (!allowed.includes(name)) {
        this.fail(key, `unknown key "${name}" in ${what} (expected one of: ${allowed.join(", ")})`);
      }
      if (out.has(name)) this.fail(key, `"${name}" is duplicate in ${what}`);
      out.set(name, { key, value: (pair.value as Node | null) ?? null });
    }
    return out;
  }

  /** Names of a mapping whose keys are free (upstream names). */
  namedEntries(node: Node | null, what: string): Array<{ name: string; key: Scalar; value: Node | null }> {
    if (!isMap(node)) this.fail(node, `${what} must be a mapping of names`);
    return ((node as YAMLMap).items as Pair<unknown, unknown>[]).map((pair) => {
      const key = pair.key;
      if (!isScalar(key)) this.fail(node, `${what} has a key that is not a plain name`);
      return { name: String(key.value), key, value: (pair.value as Node | null) ?? null };
    });
  }

  list(node: Node | null, what: string): Node[] {
    if (isSeq(node)) return node.items as Node[];
    this.fail(node, `${what} must be a list`);
  }

  /** A list, or a single item standing for a list of one. */
  listOrOne(node: Node | null): Node[] {
    return isSeq(node) ? (node.items as Node[]) : node ? [node] : [];
  }

  scalar(node: Node | null, what: string): string | number | boolean {
    if (!isScalar(node) || node.value === null || typeof node.value === "object") {
      this.fail(node, `${what} must be a single value`);
    }
    return node.value as string | number | boolean;
  }

  /** The node's scalar value, or undefined when it is not a scalar: for kinds that peek first. */
  scalarValue(node: Node | null): unknown {
    return isScalar(node) ? node.value : undefined;
  }

  string(node: Node | null, what: string): string {
    const v = this.scalar(node, what);
    if (typeof v === "boolean") this.fail(node, `${what} must be text, not ${v}`);
    return String(v);
  }

  int(node: Node | null, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.scalar(node, what);
    const n = typeof v === "number" ? v : /^\d+$/.test(String(v)) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.fail(node, `invalid ${what} "${String(v)}": expected a whole number from ${min} to ${max}`);
    }
    return n;
  }

  /** YAML booleans, and nginx's on/off (any case) for configs written by nginx users. */
  flag(node: Node | null, what: string): boolean {
    const v = this.scalar(node, what);
    if (typeof v === "boolean") return v;
    const text = String(v).toLowerCase();
    if (text === "on") return true;
    if (text === "off") return false;
    this.fail(node, `invalid ${what} "${String(v)}": expected true/false or on/off`);
  }

  time(node: Node | null, what: string, granularity: TimeGranularity): number {
    const v = this.scalar(node, what);
    const ms = typeof v === "boolean" ? null : parseTime(String(v), granularity);
    if (ms === null) {
      const units = granularity === "s" ? "s, m, h, d, w, M, y" : "ms, s, m, h, d, w";
      this.fail(node, `invalid ${what} "${String(v)}": expected a time such as 30s or 1m30s (units ${units})`);
    }
    return ms;
  }

  size(node: Node | null, what: string): number {
    const v = this.scalar(node, what);
    const bytes = typeof v === "boolean" ? null : parseSize(String(v));
    if (bytes === null) this.fail(node, `invalid ${what} "${String(v)}": expected a size such as 16k or 1m`);
    return bytes;
  }
}
