// Resolver-driven membership: each `server NAME resolve [service=]` line of an upstream is
// looked up again as its answer's TTL (or `valid=`) runs out, without a reload, as nginx's
// ngx_stream_upstream_zone_resolve_handler does. An answer becomes the servers the line
// stands for: addresses that stay keep their peer and its state, new ones take traffic at once,
// vanished ones take no new sessions while their live ones finish. NXDOMAIN (or an empty
// answer) removes the name's servers; any other failure keeps the last good answer.
import { formatHostPort } from "./config/values/address.ts";
import type { Config, ResolverConfig, UpstreamConfig, UpstreamServerConfig } from "./config/model.ts";
import { RCODE } from "./dns/message.ts";
import { dnsErrorText, type DnsExchange, DnsResolver, type SrvTarget } from "./dns/resolver.ts";
import type { Logger } from "./log.ts";
import { NameCache } from "./dns/cache.ts";
import type { Runtime } from "./runtime.ts";
import type { Upstream } from "./upstream.ts";
import { type ResolvedAnswer, resolveKey } from "./upstream-resolved.ts";

export interface DiscoveryTimers {
  /** Milliseconds. */
  now(): number;
  set(ms: number, fn: () => void): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: DiscoveryTimers = {
  now: () => Date.now(),
  set: (ms, fn) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** nginx's resolver_timeout default. */
export const DNS_DEFAULT_TIMEOUT_MS = 30_000;
/** stream{}'s resolver for `proxy_pass $var` host names; a new cache for every config. */
export function nameCacheFor(config: Config, runtime: Runtime): NameCache | null {
  const resolver = config.stream.resolver;
  if (!resolver || !runtime.dnsExchange) return null;
  const timeoutMs = config.stream.resolverTimeoutMs ?? DNS_DEFAULT_TIMEOUT_MS;
  return new NameCache(resolver, timeoutMs, runtime.dnsExchange.bind(runtime), () => Date.now());
}

/** How long an empty answer or NXDOMAIN is kept when valid= does not say (nginx: 10 s). */
const NEGATIVE_TTL_MS = 10_000;

interface Job {
  upstream: Upstream;
  line: UpstreamServerConfig;
  resolver: ResolverConfig;
  timeoutMs: number;
  timer: unknown;
  /** The addresses of the last answer that was applied, to skip unchanged answers. */
  last: string;
  running: boolean;
}

export class Discovery {
  private readonly jobs = new Map<string, Job>();
  private readonly abort = new AbortController();

  constructor(
    private readonly exchange: DnsExchange | null,
    private readonly logger: Logger,
    /** Called after an upstream's servers changed (active health checks follow them). */
    private readonly changed: (upstream: Upstream) => void,
    private readonly timers: DiscoveryTimers = systemTimers,
  ) {}

  /** Throws when the config needs lookups and the runtime cannot make them (before anything changes). */
  check(config: Config): void {
    if (this.exchange) return;
    for (const u of config.stream.upstreams.values()) {
      if (u.servers.some((s) => s.resolve)) throw new Error(`resolving names at run time is not available on this runtime`);
    }
  }

  /**
   * Start and reload: a job for every `resolve` line. A line that stays keeps its job and its
   * last answer (nginx seeds the new zone with the old addresses); a new one is first looked up
   * at once; a removed one stops.
   */
  apply(upstreams: ReadonlyMap<string, Upstream>, config: Config): void {
    const wanted = new Set<string>();
    for (const [name, upstream] of upstreams) {
      const cfg = config.stream.upstreams.get(name)!;
      const resolver = cfg.resolver ?? config.stream.resolver ?? null;
      const timeoutMs = cfg.resolverTimeoutMs ?? config.stream.resolverTimeoutMs ?? DNS_DEFAULT_TIMEOUT_MS;
      for (const line of cfg.servers) {
        if (!line.resolve || !resolver) continue;
        const key = `${name}\n${resolveKey(line)}`;
        wanted.add(key);
        const job = this.jobs.get(key);
        if (job) {
          Object.assign(job, { upstream, line, resolver, timeoutMs });
          continue;
        }
        const fresh: Job = { upstream, line, resolver, timeoutMs, timer: null, last: "", running: false };
        this.jobs.set(key, fresh);
        // nginx resolves about 1 ms after a worker starts; until then the line has no servers.
        this.schedule(fresh, 1);
      }
    }
    for (const [key, job] of this.jobs) {
      if (wanted.has(key)) continue;
      this.timers.clear(job.timer);
      this.jobs.delete(key);
      job.upstream.resolved.delete(resolveKey(job.line));
    }
    // Upstreams update()d by the reload have dropped resolved entries for lines that left.
    for (const upstream of upstreams.values()) {
      for (const k of [...upstream.resolved.keys()]) {
        if (!upstream.config.servers.some((s) => s.resolve && resolveKey(s) === k)) upstream.resolved.delete(k);
      }
    }
  }

  stop(): void {
    this.abort.abort();
    for (const job of this.jobs.values()) this.timers.clear(job.timer);
    this.jobs.clear();
  }

  private schedule(job: Job, ms: number): void {
    this.timers.clear(job.timer);
    job.timer = this.timers.set(ms, () => void this.run(job));
  }

  private async run(job: Job): Promise<void> {
    if (job.running || this.abort.signal.aborted) return;
    job.running = true;
    try {
      this.schedule(job, await this.lookup(job));
    } catch (err) {
      // The core never throws past a lookup: log it and try again later.
      this.logger.log("error", `resolving ${job.line.host} failed: ${err instanceof Error ? err.message : String(err)}`);
      this.schedule(job, Math.max(job.timeoutMs, 1000));
    } finally {
      job.running = false;
    }
  }

  /** One lookup and its effect; returns when to look again (ms). */
  private async lookup(job: Job): Promise<number> {
    const { line, resolver } = job;
    const dns = new DnsResolver(
      { servers: resolver.servers, ipv4: resolver.ipv4, ipv6: resolver.ipv6, timeoutMs: job.timeoutMs },
      this.exchange!,
      () => this.timers.now(),
      undefined,
      this.abort.signal,
    );
    const service = line.service ?? null;
    const result = service === null ? await dns.addresses(line.host) : await dns.service(srvName(service, line.host));
    if (this.abort.signal.aborted || !this.jobs.has(`${job.upstream.name}\n${resolveKey(line)}`)) return 0;
    for (const t of ("unresolved" in result && result.unresolved) || []) {
      this.logger.log(
        "error",
        `${t.target} could not be resolved (${t.code}: ${dnsErrorText(t.code)}) while resolving service ${
          srvName(service!, "").slice(0, -1)
        } of ${line.host}`,
      );
    }
    if (result.kind === "failed") {
      const what = service === null ? line.host : `service ${srvName(service, "").slice(0, -1)} of ${line.host}`;
      this.logger.log("error", `${what} could not be resolved (${result.code}: ${dnsErrorText(result.code)})`);
      if (result.code !== RCODE.NXDOMAIN) return Math.max(job.timeoutMs, 1000);
      // The name is gone (or has no records): so are its servers.
      this.set(job, () => [], "");
      return (resolver.validMs ?? NEGATIVE_TTL_MS) + 1000;
    }
    if ("addresses" in result) {
      const addresses = result.addresses;
      this.set(job, (l) => fromAddresses(l, addresses), addresses.join(" "));
    } else {
      const records = result.records;
      this.set(job, (l, u) => fromSrv(l, records, u), JSON.stringify(records));
    }
    return (resolver.validMs ?? result.ttlSec * 1000) + 1000;
  }

  private set(job: Job, answer: ResolvedAnswer, signature: string): void {
    if (signature === job.last && job.upstream.resolved.has(resolveKey(job.line))) return;
    job.last = signature;
    job.upstream.resolved.set(resolveKey(job.line), answer);
    job.upstream.update(job.upstream.config);
    this.changed(job.upstream);
  }
}

/** `_http._tcp.NAME` for service=http, `NAME` appended as-is when the service has a dot. */
export function srvName(service: string, host: string): string {
  return service.includes(".") ? `${service}.${host}` : `_${service}._tcp.${host}`;
}

/** One server per address, with the line's parameters and port. */
export function fromAddresses(line: UpstreamServerConfig, addresses: readonly string[]): UpstreamServerConfig[] {
  const seen = new Set<string>();
  const out: UpstreamServerConfig[] = [];
  for (const a of addresses) {
    const address = formatHostPort(a, line.port);
    if (seen.has(address)) continue;
    seen.add(address);
    out.push({ ...line, address, host: a, resolve: false, service: null });
  }
  return out;
}

/**
 * SRV records as servers: port and target from the record, weight too unless the line sets
 * one. The lowest priority value makes primaries and the rest backups, when the upstream
 * keeps backups (round robin and least_conn); on a `backup` line only the first priority
 * counts, as backups.
 */
export function fromSrv(
  line: UpstreamServerConfig,
  records: readonly SrvTarget[],
  upstream: UpstreamConfig,
): UpstreamServerConfig[] {
  if (records.length === 0) return [];
  const top = Math.min(...records.map((r) => r.priority));
  const keepsBackups = upstream.method.kind === "round_robin" || upstream.method.kind === "least_conn";
  const out: UpstreamServerConfig[] = [];
  // Every record counts, two equal ones too: each is a server of its own, as in nginx.
  for (const r of records) {
    const backup = line.backup || r.priority !== top;
    if (r.priority !== top && (line.backup || !keepsBackups)) continue;
    const weight = line.weight !== 1 ? line.weight : Math.max(1, r.weight);
    for (const a of r.addresses) {
      const address = formatHostPort(a, r.port);
      out.push({ ...line, address, host: a, port: r.port, weight, backup, resolve: false, service: null });
    }
  }
  return out;
}
