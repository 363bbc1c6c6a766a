// nginx's split_clients: MurmurHash2 of a complex value, compared with cumulative
// thresholds built from percentages in hundredths, so picks are bit-identical to nginx's.
import { ComplexValue, VariableSyntaxError } from "./complex-value.ts";
import { VariableError, type VariableRegistry } from "./registry.ts";
import type { VariableScope } from "./context.ts";

/** ngx_murmur_hash2 over bytes: 32-bit, seed 0 (h starts as the length). */
export function murmurHash2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  let h = data.length >>> 0;
  let i = 0;
  let len = data.length;
  while (len >= 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
    i += 4;
    len -= 4;
  }
  // The tail falls through from three bytes to one, as in the C switch.
  if (len === 3) h ^= data[i + 2]! << 16;
  if (len >= 2) h ^= data[i + 1]! << 8;
  if (len >= 1) {
    h ^= data[i]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h >>> 0;
}

/** One `P% value;` or `* value;` line, as the config reader hands it over. */
export interface SplitEntry {
  readonly percent: string;
  readonly value: string;
}

interface Part {
  /** Hashes below this pick the part; Infinity for `*` or the line reaching 100% (HEAD). */
  readonly threshold: number;
  readonly value: string;
}

/** ngx_atofp(…, 2): a decimal with at most two fraction digits, in hundredths; null if invalid. */
function hundredths(text: string): number | null {
  const m = /^(\d+)(?:\.(\d{0,2}))?$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
}

export class SplitClients {
  private readonly encoder = new TextEncoder();

  private constructor(
    readonly source: ComplexValue,
    private readonly parts: readonly Part[],
  ) {}

  /** `split_clients STRING $var {…}`; throws VariableError with nginx's messages. */
  static compile(source: string, entries: readonly SplitEntry[], registry: VariableRegistry): SplitClients {
    const parts: Part[] = [];
    let sum = 0;
    let last = 0n;
    for (const e of entries) {
      if (e.percent === "*") {
        sum = 10000;
        parts.push({ threshold: Infinity, value: e.value });
        continue;
      }
      const p = e.percent.endsWith("%") ? hundredths(e.percent.slice(0, -1)) : null;
      if (p === null || p === 0) throw new VariableError(`invalid percent value "${e.percent}"`);
      sum += p;
      if (sum > 10000) throw new VariableError("percent total is greater than 100%");
      // 64-bit integer arithmetic as nginx: percent * 0xffffffff / 10000, cumulative.
      last += (BigInt(p) * 0xffffffffn) / 10000n;
      // HEAD (1.31.2): the line that brings the total to exactly 100% takes every hash left.
      parts.push({ threshold: sum === 10000 ? Infinity : Number(last), value: e.value });
    }
    let key: ComplexValue;
    try {
      key = ComplexValue.compile(source, registry);
    } catch (e) {
      // `split_clients $ $s`: a config error at the block's line (the caller adds it).
      if (e instanceof VariableSyntaxError) throw new VariableError(e.message);
      throw e;
    }
    return new SplitClients(key, parts);
  }

  /** The value for a key's bytes ("" when no part takes the hash). */
  pickHash(hash: number): string {
    for (const part of this.parts) if (hash < part.threshold) return part.value;
    return "";
  }

  pick(key: string): string {
    return this.pickHash(murmurHash2(this.encoder.encode(key)));
  }

  /** What the variable's getter does for one session. */
  evaluate(s: VariableScope): string {
    return this.pick(this.source.evaluate(s));
  }

  /** Defines `$name` in the registry as this split (cacheable, as nginx's). */
  define(name: string, registry: VariableRegistry): number {
    return registry.define(name, "split_clients", true, (s) => this.evaluate(s));
  }
}
