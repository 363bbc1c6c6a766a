// nginx's geo (ngx_stream_geo_module): a value by client address, from CIDR networks
// (longest prefix wins) or, with `ranges`, from IPv4 address ranges. Values are literal.
// Lookup is a few hash probes (CIDR: one per prefix length in use) or a binary search.
import { type GeoRange, GeoRanges } from "./geo-ranges.ts";
import { formatIPv4, parseIPv4, parseIPv6, V4_MAPPED_PREFIX } from "./ip.ts";
import { type ConfigLoc, type ConfigWarning, VariableError, variableName, type VariableRegistry } from "./registry.ts";
import type { VariableScope } from "./context.ts";

/** One line of a geo block, tokenized (includes expanded by the reader). */
export interface GeoLine {
  readonly args: readonly string[];
  readonly loc?: ConfigLoc;
}

/** Networks of one family by prefix length; `lengths` lists those in use, longest first. */
class PrefixTable<K extends number | bigint> {
  private readonly byLength = new Map<number, Map<K, string>>();
  private lengths: number[] = [];

  constructor(private readonly mask: (addr: K, len: number) => K) {}

  get(net: K, len: number): string | undefined {
    return this.byLength.get(len)?.get(net);
  }

  set(net: K, len: number, value: string): void {
    let m = this.byLength.get(len);
    if (!m) {
      m = new Map();
      this.byLength.set(len, m);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    m.set(net, value);
  }

  delete(net: K, len: number): boolean {
    return this.byLength.get(len)?.delete(net) === true;
  }

  lookup(addr: K): string | undefined {
    for (const len of this.lengths) {
      const v = this.byLength.get(len)!.get(this.mask(addr, len));
      if (v !== undefined) return v;
    }
    return undefined;
  }
}

const mask4 = (a: number, len: number): number => (len === 0 ? 0 : (a & (~0 << (32 - len))) >>> 0);
const ALL6 = (1n << 128n) - 1n;
const mask6 = (a: bigint, len: number): bigint => a & (ALL6 ^ ((1n << BigInt(128 - len)) - 1n));

type Net = { v4: number; len: number; exact: number } | { v6: bigint; len: number; exact: bigint };

function parseNet(text: string): Net | null {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? null : text.slice(slash + 1);
  if (lenText !== null && !/^\d{1,3}$/.test(lenText)) return null;
  const v4 = parseIPv4(addr);
  if (v4 !== null) {
    const len = lenText === null ? 32 : Number(lenText);
    return len > 32 ? null : { v4: mask4(v4, len), len, exact: v4 };
  }
  const v6 = parseIPv6(addr);
  if (v6 === null) return null;
  const len = lenText === null ? 128 : Number(lenText);
  return len > 128 ? null : { v6: mask6(v6, len), len, exact: v6 };
}

const BROADCAST = 0xffffffff;

/**
 * The source of `geo $src $var`: one variable, as nginx takes it (not a complex value), so
 * `geo abc $g` is refused and `geo $ $g` names no variable, in nginx's words.
 */
function sourceIndex(text: string, registry: VariableRegistry, loc?: ConfigLoc): number {
  if (!text.startsWith("$")) throw new VariableError(`invalid variable name "${text}"`, loc);
  if (text.length === 1) throw new VariableError(`invalid variable name "$"`, loc);
  return registry.index(text.slice(1));
}

export class Geo {
  private readonly v4 = new PrefixTable<number>(mask4);
  private readonly v6 = new PrefixTable<bigint>(mask6);
  /** Ranges mode: sorted, disjoint. */
  private ranges: GeoRanges | null = null;
  private defaultValue = "";
  private volatile = false;
  readonly warnings: ConfigWarning[] = [];

  /** `source`: the registry index of the variable looked up, or null for the client address. */
  private constructor(private readonly source: number | null) {}

  /**
   * `geo [SOURCE] $var { lines }`: compiles and defines `$var`. Throws VariableError in
   * nginx's words; `warnings` holds nginx's `[warn]`s.
   */
  static compile(args: readonly string[], lines: readonly GeoLine[], registry: VariableRegistry, loc?: ConfigLoc): Geo {
    if (args.length < 1 || args.length > 2) throw new VariableError(`invalid number of arguments in "geo" directive`, loc);
    const source = args.length === 2 ? sourceIndex(args[0]!, registry, loc) : null;
    const name = variableName(args[args.length - 1]!, loc);
    const geo = new Geo(source);
    lines.forEach((line, i) => geo.add(line, i === 0));
    try {
      registry.define(name, "geo", !geo.volatile, (s) => geo.evaluate(s));
    } catch (e) {
      if (e instanceof VariableError && !e.loc) throw new VariableError(e.message, loc);
      throw e;
    }
    return geo;
  }

  private add(line: GeoLine, first: boolean): void {
    const { args, loc } = line;
    const warn = (message: string) => this.warnings.push({ message, loc });
    if (args.length === 1 && args[0] === "ranges") {
      if (!first) throw new VariableError(`the "ranges" directive must be the first directive inside "geo" block`, loc);
      this.ranges = new GeoRanges();
      return;
    }
    if (args.length === 1 && args[0] === "volatile") {
      this.volatile = true;
      return;
    }
    if (args.length !== 2) throw new VariableError("invalid number of the geo parameters", loc);
    const [key, value] = args as [string, string];
    if (this.ranges !== null) return this.addRange(key, value, loc, warn);
    if (key === "default") {
      for (const table of [this.v4, this.v6] as const) {
        const old = table === this.v4 ? this.v4.get(0, 0) : this.v6.get(0n, 0);
        if (old !== undefined) warn(`duplicate network "default", value: "${value}", old value: "${old}"`);
      }
      this.v4.set(0, 0, value);
      this.v6.set(0n, 0, value);
      this.defaultValue = value;
      return;
    }
    const del = key === "delete";
    const netText = del ? value : key;
    const net = parseNet(netText);
    if (net === null) throw new VariableError(`invalid network "${netText}"`, loc);
    if (("v4" in net ? net.v4 !== net.exact : net.v6 !== net.exact) && !del) {
      warn(`low address bits of ${netText} are meaningless`);
    }
    if (del) {
      const gone = "v4" in net ? this.v4.delete(net.v4, net.len) : this.v6.delete(net.v6, net.len);
      if (!gone) warn(`no network "${netText}" to delete`);
      return;
    }
    const old = "v4" in net ? this.v4.get(net.v4, net.len) : this.v6.get(net.v6, net.len);
    if (old !== undefined) warn(`duplicate network "${netText}", value: "${value}", old value: "${old}"`);
    if ("v4" in net) this.v4.set(net.v4, net.len, value);
    else this.v6.set(net.v6, net.len, value);
  }

  private addRange(key: string, value: string, loc: ConfigLoc | undefined, warn: (m: string) => void): void {
    const ranges = this.ranges!;
    if (key === "default") {
      this.defaultValue = value;
      return;
    }
    const del = key === "delete";
    const text = del ? value : key;
    const dash = text.indexOf("-");
    const start = dash < 0 ? null : parseIPv4(text.slice(0, dash));
    const end = dash < 0 ? null : parseIPv4(text.slice(dash + 1));
    if (start === null || end === null || start > end) throw new VariableError(`invalid range "${text}"`, loc);
    const name = (r: GeoRange) => `${formatIPv4(r.start)}-${formatIPv4(r.end)}`;
    // The first range that ends at or after `start` is the only one that can hold or cross it.
    const r = ranges.find(start);
    if (del) {
      if (r && r.start === start && r.end === end) ranges.replace(r, []);
      else warn(`no address range "${text}" to delete`);
      return;
    }
    if (r && r.start === start && r.end === end) {
      warn(`duplicate range "${text}", value: "${value}", old value: "${r.value}"`);
      r.value = value;
      return;
    }
    if (r && r.start <= start && end <= r.end) {
      // Strictly inside: split the outer range around the new one.
      const parts: GeoRange[] = [];
      if (r.start < start) parts.push({ start: r.start, end: start - 1, value: r.value });
      parts.push({ start, end, value });
      if (end < r.end) parts.push({ start: end + 1, end: r.end, value: r.value });
      ranges.replace(r, parts);
      return;
    }
    if (r && r.start <= end) throw new VariableError(`range "${text}" overlaps "${name(r)}"`, loc);
    ranges.insert({ start, end, value });
  }

  /** The value for an address text (what `$src` or the client address gives). */
  lookup(address: string): string {
    let v4 = parseIPv4(address);
    let v6: bigint | null = null;
    if (v4 === null) {
      v6 = parseIPv6(address);
      if (v6 !== null && v6 >> 32n === V4_MAPPED_PREFIX >> 32n) {
        v4 = Number(v6 & 0xffffffffn);
        v6 = null;
      }
    }
    if (this.ranges !== null) {
      if (v4 === null) return this.defaultValue;
      return this.ranges.lookup(v4) ?? this.defaultValue;
    }
    // nginx looks an unparsable source (or a Unix client) up as 255.255.255.255.
    if (v6 !== null) return this.v6.lookup(v6) ?? "";
    return this.v4.lookup(v4 ?? BROADCAST) ?? "";
  }

  evaluate(s: VariableScope): string {
    return this.lookup(this.source === null ? s.ctx.remoteAddress : (s.get(this.source) ?? ""));
  }
}
