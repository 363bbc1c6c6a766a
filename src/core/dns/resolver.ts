// A stub resolver that asks the `resolver` directive's servers, never the system's: A and
// AAAA for a host (as ipv4=/ipv6= allow), SRV for a service, CNAME chains followed, TCP when
// a UDP answer is truncated. It reaches the network only through the runtime's dnsExchange.
import type { ConnectTarget, DnsExchangeOptions } from "../runtime.ts";
import { decodeMessage, DNS_CLASS_IN, DNS_TYPE, type DnsMessage, type DnsRecord, encodeQuery, RCODE } from "./message.ts";

export type DnsExchange = (server: ConnectTarget, query: Uint8Array, options: DnsExchangeOptions) => Promise<Uint8Array>;

export interface ResolverSettings {
  readonly servers: readonly ConnectTarget[];
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** resolver_timeout: for one whole lookup, every server and retry included. */
  readonly timeoutMs: number;
}

/** nginx's code for a lookup that got no answer in time (NGX_RESOLVE_TIMEDOUT is ETIMEDOUT). */
export const DNS_TIMED_OUT = 110;

export type Lookup =
  /** Addresses in the order the answers gave them, A before AAAA; ttlSec is the smallest TTL seen. */
  | { readonly kind: "ok"; readonly addresses: readonly string[]; readonly ttlSec: number }
  /** `code` is the RCODE (3 for NXDOMAIN and for an answer with no records) or DNS_TIMED_OUT. */
  | { readonly kind: "failed"; readonly code: number };

export interface SrvTarget {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
  readonly addresses: readonly string[];
}

export type ServiceLookup =
  | {
    readonly kind: "ok";
    readonly records: readonly SrvTarget[];
    readonly ttlSec: number;
    /** Targets whose own lookup failed (they give no servers), for the log. */
    readonly unresolved: readonly { readonly target: string; readonly code: number }[];
  }
  | {
    readonly kind: "failed";
    readonly code: number;
    readonly unresolved?: readonly { readonly target: string; readonly code: number }[];
  };

/** ngx_resolver_strerror's words, which the error log quotes. */
export function dnsErrorText(code: number): string {
  switch (code) {
    case RCODE.FORMERR:
      return "Format error";
    case RCODE.SERVFAIL:
      return "Server failure";
    case RCODE.NXDOMAIN:
      return "Host not found";
    case RCODE.NOTIMP:
      return "Unimplemented";
    case RCODE.REFUSED:
      return "Operation refused";
    case DNS_TIMED_OUT:
      return "Operation timed out";
    default:
      return "Unknown error";
  }
}

/** How many CNAMEs one lookup follows before it gives up (a loop, or a chain nobody needs). */
const MAX_CNAMES = 8;

export class DnsResolver {
  private next = 0;

  constructor(
    private readonly settings: ResolverSettings,
    private readonly exchange: DnsExchange,
    /** Milliseconds, monotonic enough to bound a lookup; injected so tests need no real time. */
    private readonly now: () => number,
    private readonly randomId: () => number = () => crypto.getRandomValues(new Uint16Array(1))[0]!,
    private readonly signal?: AbortSignal,
  ) {}

  /** A and AAAA at once, as nginx asks them; addresses from either make a success. */
  async addresses(name: string): Promise<Lookup> {
    const types = [...(this.settings.ipv4 ? [DNS_TYPE.A] : []), ...(this.settings.ipv6 ? [DNS_TYPE.AAAA] : [])];
    const results = await Promise.all(types.map((t) => this.follow(name, t)));
    const addresses: string[] = [];
    let ttlSec = Infinity;
    let failure: number | null = null;
    for (const r of results) {
      if (r.kind === "failed") {
        if (r.code !== RCODE.NXDOMAIN || failure === null) failure = r.code;
        continue;
      }
      for (const rec of r.records) {
        if (rec.data.kind === "a" || rec.data.kind === "aaaa") addresses.push(rec.data.address);
      }
      if (r.records.length > 0) ttlSec = Math.min(ttlSec, r.ttlSec);
    }
    if (addresses.length > 0) return { kind: "ok", addresses, ttlSec };
    return { kind: "failed", code: failure ?? RCODE.NXDOMAIN };
  }

  /** SRV records of `name`, each with its target's addresses (a target with none is dropped). */
  async service(name: string): Promise<ServiceLookup> {
    const srv = await this.follow(name, DNS_TYPE.SRV);
    if (srv.kind === "failed") return srv;
    let ttlSec = srv.ttlSec;
    const records: SrvTarget[] = [];
    const targets = new Map<string, Promise<Lookup>>();
    for (const r of srv.records) {
      if (r.data.kind !== "srv" || targets.has(r.data.target)) continue;
      targets.set(r.data.target, this.addresses(r.data.target));
    }
    const looked = new Map<string, Lookup>();
    const unresolved: { target: string; code: number }[] = [];
    for (const [target, p] of targets) {
      const t = await p;
      looked.set(target, t);
      if (t.kind === "failed") unresolved.push({ target, code: t.code });
    }
    for (const r of srv.records) {
      if (r.data.kind !== "srv") continue;
      const t = looked.get(r.data.target)!;
      if (t.kind !== "ok") continue;
      ttlSec = Math.min(ttlSec, t.ttlSec);
      const { priority, weight, port, target } = r.data;
      records.push({ priority, weight, port, target, addresses: t.addresses });
    }
    // No target gave an address: the lookup failed as its first target did, so a server
    // failure there keeps the servers the last answer gave, as nginx does.
    if (records.length === 0) return { kind: "failed", code: unresolved[0]?.code ?? RCODE.NXDOMAIN, unresolved };
    return { kind: "ok", records, ttlSec, unresolved };
  }

  /** One type for one name, asking again for the end of a CNAME chain the answer left open. */
  private async follow(
    name: string,
    type: number,
  ): Promise<{ kind: "ok"; records: DnsRecord[]; ttlSec: number } | { kind: "failed"; code: number }> {
    let ask = name;
    let ttlSec = Infinity;
    for (let hop = 0; hop <= MAX_CNAMES; hop++) {
      const reply = await this.query(ask, type);
      if (reply.kind === "failed") return reply;
      if (reply.message.rcode !== RCODE.NOERROR) return { kind: "failed", code: reply.message.rcode };
      const a = answerFor(reply.message.answers, ask, type);
      ttlSec = Math.min(ttlSec, a.ttlSec);
      if (a.records.length > 0) return { kind: "ok", records: a.records, ttlSec: Math.min(ttlSec, a.ttlSec) };
      if (a.cname === null) return { kind: "failed", code: RCODE.NXDOMAIN };
      ask = a.cname;
    }
    return { kind: "failed", code: RCODE.NXDOMAIN };
  }

  /** One question until an answer or resolver_timeout: servers in turn, TCP after a truncated reply. */
  private async query(
    name: string,
    type: number,
  ): Promise<{ kind: "ok"; message: DnsMessage } | { kind: "failed"; code: number }> {
    const servers = this.settings.servers;
    if (servers.length === 0) return { kind: "failed", code: DNS_TIMED_OUT };
    const deadline = this.now() + this.settings.timeoutMs;
    // Each server gets its share of the time, at least a second, so one dead server does not
    // take the whole timeout from the others.
    const share = Math.max(1000, Math.ceil(this.settings.timeoutMs / servers.length));
    let fastFailures = 0;
    let lastCode: number = DNS_TIMED_OUT;
    while (fastFailures < servers.length && !this.signal?.aborted) {
      const left = deadline - this.now();
      if (left <= 0) break;
      const server = servers[this.next++ % servers.length]!;
      const id = this.randomId() & 0xffff;
      const query = encodeQuery(id, name, type);
      if (!query) return { kind: "failed", code: RCODE.FORMERR };
      const matches = (bytes: Uint8Array) => isReplyTo(bytes, id, name, type);
      const started = this.now();
      let reply: Uint8Array;
      try {
        reply = await this.exchange(server, query, {
          tcp: false,
          timeoutMs: Math.min(left, share),
          accept: matches,
          signal: this.signal,
        });
        const first = decodeMessage(reply);
        if (first.ok && first.message.truncated) {
          reply = await this.exchange(server, query, {
            tcp: true,
            timeoutMs: Math.max(1, deadline - this.now()),
            accept: matches,
            signal: this.signal,
          });
        }
      } catch {
        // A quick failure (ICMP port unreachable) moves on; a round of them ends the lookup.
        if (this.now() - started < Math.min(left, share)) fastFailures++;
        continue;
      }
      const decoded = decodeMessage(reply);
      if (!decoded.ok) {
        lastCode = RCODE.FORMERR;
        fastFailures++;
        continue;
      }
      return { kind: "ok", message: decoded.message };
    }
    return { kind: "failed", code: lastCode };
  }
}

/** Whether `bytes` is the answer to our question: same id, a response, the same question. */
export function isReplyTo(bytes: Uint8Array, id: number, name: string, type: number): boolean {
  const d = decodeMessage(bytes);
  if (!d.ok) return bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) === id;
  const m = d.message;
  if (m.id !== id || !m.response) return false;
  const q = m.questions[0];
  // Some servers leave the question out of an error reply; RFC 1035 allows it.
  if (!q) return m.rcode !== RCODE.NOERROR;
  return q.type === type && q.klass === DNS_CLASS_IN && q.name === normalize(name);
}

/**
 * The records of `type` for `name` in an answer section, following the CNAMEs it holds.
 * `cname` is where the chain ends when no records of the type came with it (ask again there).
 */
export function answerFor(
  answers: readonly DnsRecord[],
  name: string,
  type: number,
): { records: DnsRecord[]; cname: string | null; ttlSec: number } {
  let current = normalize(name);
  let ttlSec = Infinity;
  const seen = new Set<string>([current]);
  for (let hop = 0; hop <= MAX_CNAMES; hop++) {
    const records = answers.filter((r) => r.name === current && r.type === type && r.klass === DNS_CLASS_IN);
    if (records.length > 0) {
      for (const r of records) ttlSec = Math.min(ttlSec, r.ttl);
      return { records, cname: hop === 0 ? null : current, ttlSec };
    }
    const alias = answers.find((r) => r.name === current && r.data.kind === "cname");
    if (!alias || alias.data.kind !== "cname") return { records: [], cname: hop === 0 ? null : current, ttlSec };
    ttlSec = Math.min(ttlSec, alias.ttl);
    current = alias.data.target;
    if (seen.has(current)) return { records: [], cname: null, ttlSec };
    seen.add(current);
  }
  return { records: [], cname: null, ttlSec };
}

function normalize(name: string): string {
  return (name.endsWith(".") ? name.slice(0, -1) : name).toLowerCase();
}
