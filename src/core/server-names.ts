// Which server block of an address a TLS client's server name chooses, as nginx's
// ngx_stream_find_virtual_server does: an exact name first, then the longest `*.suffix`
// (or `.suffix`), then the longest `prefix.*`, then the regexes in the order written; none
// matching leaves the address's default server. A regex that matches leaves its captures to
// the session: `$1`..`$9`, and its named groups as variables.
import type { VariableScope } from "./variables/context.ts";

/** A `~regex` server name as JavaScript runs it (PCRE's `(?P<n>`, `\Q…\E`), or why it cannot be. */
export function compileServerNameRegex(name: string): RegExp | string {
  let source = name.slice(1)
    .replace(/\\Q(.*?)(?:\\E|$)/g, (_m, lit: string) => lit.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .replace(/\(\?P</g, "(?<");
  // nginx compiles it caseless when the pattern has an upper-case letter (the name is lower-cased).
  const caseless = /[A-Z]/.test(source);
  try {
    return new RegExp(source, `u${caseless ? "i" : ""}`);
  } catch (e) {
    try {
      source = source.replace(/\\p\{N\}/g, "\\d");
      return new RegExp(source, caseless ? "i" : "");
    } catch {
      return `regex compile failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

/** The named groups of a compiled server name regex (`(?<name>…)`), in order. */
export function serverNameCaptureNames(re: RegExp): string[] {
  return [...re.source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!);
}

interface NameRegex<R> {
  readonly re: RegExp;
  readonly value: R;
  /** Each named group and the index of its variable (empty when nobody can read them). */
  readonly named: readonly (readonly [string, number])[];
  /** Whether the pattern captures at all: one that does not leaves earlier captures alone. */
  readonly captures: boolean;
}

export class ServerNames<R> {
  private readonly exact = new Map<string, R>();
  /** `*.example.com` and `.example.com` as their suffix `.example.com`, longest first. */
  private head: [string, R][] = [];
  /** `www.example.*` as its prefix `www.example.`, longest first. */
  private tail: [string, R][] = [];
  private readonly regexes: NameRegex<R>[] = [];

  /** `variableIndex`: the registry index of a named group's variable (defined at config check). */
  constructor(private readonly variableIndex: ((name: string) => number) | null = null) {}

  /** The first server to name it keeps it (nginx warns of the later ones and ignores them). */
  add(name: string, value: R): boolean {
    if (name.startsWith("~")) {
      const re = compileServerNameRegex(name);
      if (typeof re === "string") return false;
      const groups = serverNameCaptureNames(re);
      const named = this.variableIndex === null ? [] : groups.map((g) => [g, this.variableIndex!(g)] as const);
      // A group count, not a parse: `new RegExp(source + "|")` matches "" with one slot per group.
      const captures = (new RegExp(`${re.source}|`, re.flags).exec("")?.length ?? 1) > 1;
      this.regexes.push({ re, value, named, captures });
      return true;
    }
    if (name.startsWith("*.") || name.startsWith(".")) {
      const suffix = name.slice(name.indexOf("."));
      if (this.head.some(([s]) => s === suffix)) return false;
      this.head = [...this.head, [suffix, value] as [string, R]].sort((a, b) => b[0].length - a[0].length);
      // `.example.com` also names example.com itself.
      if (name.startsWith(".") && !this.exact.has(name.slice(1))) this.exact.set(name.slice(1), value);
      return true;
    }
    if (name.endsWith(".*")) {
      const prefix = name.slice(0, -1);
      if (this.tail.some(([p]) => p === prefix)) return false;
      this.tail = [...this.tail, [prefix, value] as [string, R]].sort((a, b) => b[0].length - a[0].length);
      return true;
    }
    if (this.exact.has(name)) return false;
    this.exact.set(name, value);
    return true;
  }

  get size(): number {
    return this.exact.size + this.head.length + this.tail.length + this.regexes.length;
  }

  /**
   * The server `host` (as the client sent it) names, or null for the default one; a regex
   * that matched leaves its captures in `scope` (made only then), as nginx's regex exec does.
   */
  find(host: string, scope: (() => VariableScope) | null = null): R | null {
    const name = host.toLowerCase().replace(/\.$/, "");
    if (name === "") return null;
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    for (const [suffix, value] of this.head) if (name.endsWith(suffix) && name.length > suffix.length) return value;
    for (const [prefix, value] of this.tail) if (name.startsWith(prefix) && name.length > prefix.length) return value;
    for (const r of this.regexes) {
      const m = r.re.exec(name);
      if (m === null) continue;
      if (scope !== null && r.captures) {
        const s = scope();
        s.captures = m;
        for (const [group, index] of r.named) {
          const v = m.groups?.[group];
          if (v !== undefined) s.assign(index, v);
        }
      }
      return r.value;
    }
    return null;
  }
}
