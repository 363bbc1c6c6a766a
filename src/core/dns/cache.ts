// Host names for `proxy_pass $var`, looked up through the stream{} resolver and kept for their
// TTL (or `valid=`), as nginx's resolver caches them: sessions naming the same host share one
// answer and one question in flight. Failures are kept too (nginx keeps NXDOMAIN for valid= or
// the answer's TTL; here for valid= or 10 s), so a dead name does not cost a lookup a session.
import type { ResolverConfig } from "../config/model.ts";
import { type DnsExchange, DnsResolver, type Lookup } from "./resolver.ts";

/** Names kept at most; the oldest go first. */
const MAX_NAMES = 1024;
const NEGATIVE_MS = 10_000;

export class NameCache {
  private readonly entries = new Map<string, { expiresMs: number; result: Promise<Lookup> }>();
  private readonly resolver: DnsResolver;

  constructor(
    private readonly config: ResolverConfig,
    timeoutMs: number,
    exchange: DnsExchange,
    private readonly now: () => number,
  ) {
    this.resolver = new DnsResolver(
      { servers: config.servers, ipv4: config.ipv4, ipv6: config.ipv6, timeoutMs },
      exchange,
      now,
    );
  }

  lookup(name: string): Promise<Lookup> {
    const key = name.toLowerCase();
    const hit = this.entries.get(key);
    if (hit && hit.expiresMs > this.now()) return hit.result;
    if (this.entries.size >= MAX_NAMES) this.entries.delete(this.entries.keys().next().value!);
    // Until the answer comes, the entry lives as long as the lookup may take.
    const entry = { expiresMs: Infinity, result: this.resolver.addresses(name) };
    this.entries.set(key, entry);
    void entry.result.then((r) => {
      const ttlMs = this.config.validMs ?? (r.kind === "ok" ? r.ttlSec * 1000 : NEGATIVE_MS);
      entry.expiresMs = this.now() + ttlMs;
    });
    return entry.result;
  }
}
