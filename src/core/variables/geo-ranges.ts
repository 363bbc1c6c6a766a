// The address ranges of a `geo { ranges; }` block: sorted, disjoint, and kept in chunks of a
// few hundred so that adding one is a short splice, not a shift of the whole list. One flat
// sorted array made a 100,000-line ranges block in random order quadratic to load.

export interface GeoRange {
  start: number;
  end: number;
  value: string;
}

/** Past this a chunk is cut in two; small enough that a splice inside it costs little. */
const CHUNK = 512;

/** Index of the first range in `rs` whose end is >= addr (rs sorted and disjoint). */
function lowerBound(rs: readonly GeoRange[], addr: number): number {
  let lo = 0;
  let hi = rs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rs[mid]!.end < addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class GeoRanges {
  /** Never empty chunks; every range of chunk k ends before any of chunk k+1 starts. */
  private readonly chunks: GeoRange[][] = [];

  /** The first range that ends at or after `addr`: the only one that can hold or cross it. */
  find(addr: number): GeoRange | undefined {
    const at = this.locate(addr);
    return at === null ? undefined : this.chunks[at[0]]![at[1]];
  }

  /** The value of the range holding `addr`, if one does. */
  lookup(addr: number): string | undefined {
    const r = this.find(addr);
    return r !== undefined && r.start <= addr ? r.value : undefined;
  }

  /** Adds a range that overlaps none (the caller checked with find). */
  insert(range: GeoRange): void {
    const at = this.locate(range.start);
    if (at === null) {
      const last = this.chunks[this.chunks.length - 1];
      if (last === undefined) this.chunks.push([range]);
      else this.spliceAt(this.chunks.length - 1, last.length, 0, [range]);
      return;
    }
    this.spliceAt(at[0], at[1], 0, [range]);
  }

  /** Replaces the range `old` (one find returned) with `parts`, which cover only its place. */
  replace(old: GeoRange, parts: readonly GeoRange[]): void {
    const at = this.locate(old.start);
    if (at === null || this.chunks[at[0]]![at[1]] !== old) throw new Error("GeoRanges.replace: not a member");
    this.spliceAt(at[0], at[1], 1, parts);
  }

  /** Where the first range ending at or after `addr` is: [chunk, index], or null past the last. */
  private locate(addr: number): [number, number] | null {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid]!;
      if (c[c.length - 1]!.end < addr) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.chunks.length) return null;
    return [lo, lowerBound(this.chunks[lo]!, addr)];
  }

  private spliceAt(k: number, i: number, remove: number, add: readonly GeoRange[]): void {
    const chunk = this.chunks[k]!;
    chunk.splice(i, remove, ...add);
    if (chunk.length === 0) this.chunks.splice(k, 1);
    else if (chunk.length > 2 * CHUNK) this.chunks.splice(k, 1, chunk.slice(0, CHUNK), chunk.slice(CHUNK));
  }
}
