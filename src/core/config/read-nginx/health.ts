// Active health checks as nginx.conf spells them, for the nginx reader (reader.ts):
// - NGINX Plus: `health_check [interval=] [jitter=] [fails=] [passes=] [port=] [match=NAME]
//   [mandatory [persistent]] [udp];` in server{} (it checks that server's proxy_pass upstream),
//   `health_check_timeout` in stream{}/server{}, and `match NAME { send ...; expect ...; }`;
// - yaoweibin's check: `check interval=3000 rise=2 fall=5 timeout=1000 type=tcp;` in an
//   upstream{} of tcp{} (nginx_tcp_proxy_module) or of stream{} (the check module's stream
//   port), with `check_http_send` / `check_http_expect_alive` for type=http.
// Parameters are checked when read (so errors come in file order); match names and proxy_pass
// targets are resolved once the whole file is read, as nginx does at postconfiguration.
import { decodeMatchText, httpAliveRegex, regexError, sameHealthCheck } from "../values/match-text.ts";
import { formatLoc } from "../errors.ts";
import { DEFAULT_HEALTH_CHECK, type HealthCheckConfig, type HealthExpect, type SourceLoc } from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";
import { parseTime } from "../values/units.ts";

/** How the nginx reader reports, so messages read like the rest of it. */
export interface HealthReporter {
  fail(d: NginxDirective, problem: string): never;
  warn(d: NginxDirective, message: string): void;
  loc(d: NginxDirective): SourceLoc;
}

/** What stream{} or one server{} says about health checks. */
export interface HealthScope {
  timeoutMs: number | null;
  readonly checks: PlusCheck[];
}

/** One `health_check` line, its parameters read, its match not yet looked up. */
interface PlusCheck {
  readonly d: NginxDirective;
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly fails: number;
  readonly passes: number;
  readonly port: number | null;
  readonly match: string | null;
  readonly mandatory: boolean;
  readonly persistent: boolean;
  readonly udp: boolean;
}

interface MatchBlock {
  readonly send: string | null;
  readonly expect: HealthExpect | null;
}

/** What one upstream says: its `check` and the http send/expect that go with type=http. */
export interface TcpCheckScope {
  check: NginxDirective | null;
  httpSend: NginxDirective | null;
  httpAlive: NginxDirective | null;
}

/** yaoweibin's defaults (ngx_tcp_upstream_check): 30 s, rise 2, fall 5, 1 s, servers start down. */
const TCP_CHECK = { intervalMs: 30_000, passes: 2, fails: 5, timeoutMs: 1000 } as const;

export class NginxHealthChecks {
  private readonly matches = new Map<string, MatchBlock>();
  /** Upstreams that have a `check` of their own, for a health_check that would be a second one. */
  private readonly upstreamChecks = new Map<string, { config: HealthCheckConfig; d: NginxDirective }>();

  constructor(private readonly r: HealthReporter) {}

  scope(): HealthScope {
    return { timeoutMs: null, checks: [] };
  }

  tcpScope(): TcpCheckScope {
    return { check: null, httpSend: null, httpAlive: null };
  }

  /** `health_check` and `health_check_timeout` in stream{} or server{}; false for any other directive. */
  directive(d: NginxDirective, scope: HealthScope): boolean {
    if (d.name === "health_check_timeout") {
      const ms = parseTime(d.args[0]!, "ms");
      if (ms === null || ms === 0) this.r.fail(d, `"${d.name}" directive invalid value`);
      scope.timeoutMs = ms;
      return true;
    }
    if (d.name === "health_check") {
      scope.checks.push(this.plusCheck(d));
      return true;
    }
    return false;
  }

  /** `match NAME { send "..."; expect "..." | expect ~ "regex" | expect ~* "regex"; }`. */
  match(d: NginxDirective, body: readonly NginxDirective[]): void {
    const name = d.args[0]!;
    if (this.matches.has(name)) this.r.fail(d, `duplicate match "${name}"`);
    let send: string | null = null;
    let expect: HealthExpect | null = null;
    for (const e of body) {
      if (e.name === "send") {
        send = decodeMatchText(e.args[0]!) || null;
        continue;
      }
      const [a, b] = e.args;
      if (b === undefined) {
        const bytes = decodeMatchText(a!);
        expect = bytes === "" ? null : { kind: "bytes", bytes };
        continue;
      }
      if (a !== "~" && a !== "~*") {
        this.r.fail(e, `invalid parameter "${a}": "expect" takes a string, or ~ or ~* and a regular expression`);
      }
      const problem = regexError(b);
      if (problem) this.r.fail(e, `invalid regular expression "${b}" (${problem})`);
      expect = { kind: "regex", pattern: b, caseless: a === "~*" };
    }
    this.matches.set(name, { send, expect });
  }

  /**
   * The check each upstream gets from the servers that proxy_pass to it. `servers` are the
   * stream{} servers in file order, with their scope and their stream{}'s.
   */
  resolve(
    servers: ReadonlyArray<{ readonly scope: HealthScope; readonly block: HealthScope; readonly upstream: string | null }>,
  ): Map<string, HealthCheckConfig> {
    const found = new Map<string, { config: HealthCheckConfig; d: NginxDirective }>();
    for (const { scope, block, upstream } of servers) {
      for (const c of scope.checks) {
        if (upstream === null) {
          this.r.fail(c.d, `"health_check" needs "proxy_pass" to an upstream{} group, not to an address`);
        }
        let match: MatchBlock = { send: null, expect: null };
        if (c.match !== null) {
          const m = this.matches.get(c.match);
          if (!m) this.r.fail(c.d, `match "${c.match}" not found`);
          match = m;
        }
        const config: HealthCheckConfig = {
          intervalMs: c.intervalMs,
          jitterMs: c.jitterMs,
          timeoutMs: scope.timeoutMs ?? block.timeoutMs ?? DEFAULT_HEALTH_CHECK.timeoutMs,
          fails: c.fails,
          passes: c.passes,
          port: c.port,
          mandatory: c.mandatory,
          persistent: c.persistent,
          udp: c.udp,
          send: match.send,
          expect: match.expect,
        };
        const earlier = found.get(upstream) ?? this.upstreamChecks.get(upstream);
        if (earlier && !sameHealthCheck(earlier.config, config)) {
          this.r.fail(
            c.d,
            `upstream "${upstream}" already has a different health check (${
              formatLoc(this.r.loc(earlier.d))
            }): streamlb runs one health check per upstream`,
          );
        }
        if (!earlier) found.set(upstream, { config, d: c.d });
      }
    }
    return new Map([...found].map(([name, f]) => [name, f.config]));
  }

  /** `check`, `check_http_send`, `check_http_expect_alive` in an upstream; false for others. */
  tcpDirective(d: NginxDirective, scope: TcpCheckScope): boolean {
    switch (d.name) {
      case "check":
        if (scope.check) this.r.fail(d, `"check" directive is duplicate`);
        this.tcpParams(d); // the mistakes are reported in file order
        scope.check = d;
        return true;
      case "check_http_send":
        if (scope.httpSend) this.r.fail(d, `"check_http_send" directive is duplicate`);
        scope.httpSend = d;
        return true;
      case "check_http_expect_alive":
        for (const a of d.args) if (!/^http_[2-5]xx$/.test(a)) this.r.fail(d, `invalid value "${a}"`);
        scope.httpAlive = d;
        return true;
    }
    return false;
  }

  /**
   * The check of one upstream from its `check`, or null. Servers start down until `rise`
   * passes, as in that module. Unlike it (yaoweibin#120: every reload marks every server down again), a reload
   * keeps the state of the servers that stay: `mandatory persistent` in Plus's words.
   */
  tcpCheck(scope: TcpCheckScope, upstream: string): HealthCheckConfig | null {
    const d = scope.check;
    if (!d) {
      for (const other of [scope.httpSend, scope.httpAlive]) {
        if (other) this.r.warn(other, `"${other.name}" is ignored: the upstream has no "check"`);
      }
      return null;
    }
    const p = this.tcpParams(d);
    let send: string | null = null;
    let expect: HealthExpect | null = null;
    if (p.type === "http") {
      send = decodeMatchText(scope.httpSend?.args[0] ?? "GET / HTTP/1.0\r\n\r\n") || null;
      const alive = scope.httpAlive?.args ?? ["http_2xx", "http_3xx"];
      expect = { kind: "regex", pattern: httpAliveRegex(alive), caseless: false };
    } else {
      if (p.type !== "tcp") this.r.warn(d, `"check type=${p.type}" is not supported yet: a TCP connect check is used instead`);
      for (const other of [scope.httpSend, scope.httpAlive]) {
        if (other) this.r.warn(other, `"${other.name}" is ignored: it needs "check type=http"`);
      }
    }
    const config: HealthCheckConfig = {
      ...DEFAULT_HEALTH_CHECK,
      intervalMs: p.interval ?? TCP_CHECK.intervalMs,
      timeoutMs: p.timeout ?? TCP_CHECK.timeoutMs,
      fails: p.fall ?? TCP_CHECK.fails,
      passes: p.rise ?? TCP_CHECK.passes,
      port: p.port ?? null,
      mandatory: p.defaultDown,
      persistent: p.defaultDown,
      send,
      expect,
    };
    this.upstreamChecks.set(upstream, { config, d });
    return config;
  }

  /** yaoweibin's `check` parameters: plain integers (milliseconds for the times). */
  private tcpParams(d: NginxDirective): {
    interval?: number;
    rise?: number;
    fall?: number;
    timeout?: number;
    port?: number;
    type: string;
    defaultDown: boolean;
  } {
    const out: ReturnType<NginxHealthChecks["tcpParams"]> = { type: "tcp", defaultDown: true };
    for (const p of d.args) {
      const m = /^(interval|rise|fall|timeout|port|type|default_down)=(.*)$/.exec(p);
      if (!m) this.r.fail(d, `invalid parameter "${p}"`);
      const [, key, value] = m as unknown as [string, string, string];
      if (key === "type") {
        if (!["tcp", "ssl_hello", "http", "smtp", "mysql", "pop3", "imap"].includes(value)) {
          this.r.fail(d, `invalid parameter "${p}"`);
        }
        out.type = value;
      } else if (key === "default_down") {
        if (value !== "true" && value !== "false") this.r.fail(d, `invalid parameter "${p}"`);
        out.defaultDown = value === "true";
      } else {
        const n = atoi(value);
        if (n === null || n === 0 || (key === "port" && n > 65535)) this.r.fail(d, `invalid parameter "${p}"`);
        out[key as "interval" | "rise" | "fall" | "timeout" | "port"] = n;
      }
    }
    return out;
  }

  private plusCheck(d: NginxDirective): PlusCheck {
    const c = {
      d,
      intervalMs: DEFAULT_HEALTH_CHECK.intervalMs,
      jitterMs: DEFAULT_HEALTH_CHECK.jitterMs,
      fails: DEFAULT_HEALTH_CHECK.fails,
      passes: DEFAULT_HEALTH_CHECK.passes,
      port: DEFAULT_HEALTH_CHECK.port as number | null,
      match: null as string | null,
      mandatory: false,
      persistent: false,
      udp: false,
    };
    const invalid = (p: string): never => this.r.fail(d, `invalid parameter "${p}"`);
    for (const p of d.args) {
      const eq = p.indexOf("=");
      const key = eq < 0 ? p : p.slice(0, eq);
      const value = eq < 0 ? "" : p.slice(eq + 1);
      const count = () => {
        const n = atoi(value);
        return n === null || n === 0 ? invalid(p) : n;
      };
      switch (eq < 0 ? p : `${key}=`) {
        case "interval=": {
          const ms = parseTime(value, "ms");
          c.intervalMs = ms === null || ms === 0 ? invalid(p) : ms;
          break;
        }
        case "jitter=":
          c.jitterMs = parseTime(value, "ms") ?? invalid(p);
          break;
        case "fails=":
          c.fails = count();
          break;
        case "passes=":
          c.passes = count();
          break;
        case "port=": {
          const n = count();
          c.port = n > 65535 ? invalid(p) : n;
          break;
        }
        case "match=":
          c.match = value === "" ? invalid(p) : value;
          break;
        case "mandatory":
          c.mandatory = true;
          break;
        case "persistent":
          // Plus's grammar is `mandatory [persistent]`: keeping a state only means something
          // for a server that would otherwise start in "checking".
          if (!c.mandatory) this.r.fail(d, `invalid parameter "${p}": it needs "mandatory" before it`);
          c.persistent = true;
          break;
        case "udp":
          c.udp = true;
          break;
        default:
          invalid(p);
      }
    }
    return c;
  }
}

/** ngx_atoi: digits only, not empty; null where nginx returns NGX_ERROR. */
function atoi(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}
