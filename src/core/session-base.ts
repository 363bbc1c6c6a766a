// What a TCP session (session.ts) and a UDP session (datagram-session-state.ts) are alike to
// the phases, the variables and the balancing methods: the facts phases leave, the upstream
// tries the log reads, the variable slots made at first use, the releases run at the end.
// Each subclass says only what differs: where its addresses, bytes and time come from.
import type { PickContext } from "./balance/types.ts";
import type { Logger } from "./log.ts";
import type { Route } from "./route.ts";
import type { LimitConnStatus, PrereadFacts, ProxyHeaderFacts, UpstreamTry, VariableContext } from "./variables/context.ts";
import { SessionVariables } from "./variables/session-variables.ts";

export abstract class SessionBase implements VariableContext, PickContext {
  abstract readonly protocol: "TCP" | "UDP";
  abstract readonly startMs: number;
  abstract readonly remoteAddress: string;
  abstract readonly remotePort: number;
  abstract readonly serverAddress: string;
  abstract readonly serverPort: number;
  abstract readonly realip: { readonly addr: string; readonly port: number } | null;
  abstract readonly logger: Logger;
  /** $server_name: the first server_name of the server block serving the session. */
  get serverName(): string {
    return this.route.server.serverNames?.[0] ?? "";
  }
  proxyProtocol: ProxyHeaderFacts | null = null;
  preread: PrereadFacts | null = null;
  limitConnStatus: LimitConnStatus | null = null;
  // The upstream states of nginx's access log variables, one entry per try. Three one-entry
  // arrays are ~0.2 KiB per idle session on Bun, so the add* methods (the TCP session's) keep
  // the first entry in a field and make an array only for a second; the UDP session pushes
  // to the arrays, made at first use.
  protected addr0: string | null = null;
  protected connectMs0: number | null = null;
  protected tryMs0: number | null = null;
  protected triedList: string[] | null = null;
  protected connectMsList: number[] | null = null;
  protected tryMsList: number[] | null = null;
  protected finalStatus = 0;
  protected vars: SessionVariables | null = null;
  protected releases: (() => void)[] | null = null;

  constructor(
    readonly id: number,
    /** SNI may choose another server block of the address in the ssl phase (chooseRoute). */
    public route: Route,
  ) {}

  abstract now(): number;
  abstract bytesSent(): number;
  abstract bytesReceived(): number;
  abstract upstreamTries(): readonly UpstreamTry[];
  abstract ssl(name: string): string | null;
  abstract logClientError(level: "error" | "warn" | "info" | "notice", message: string): void;

  protected get tried(): string[] {
    return (this.triedList ??= []);
  }
  protected get connectMs(): number[] {
    return (this.connectMsList ??= []);
  }
  protected get tryMs(): number[] {
    return (this.tryMsList ??= []);
  }
  protected addTry(addr: string): void {
    if (this.addr0 === null) this.addr0 = addr;
    else this.tried.push(addr);
  }
  protected addConnectMs(ms: number): void {
    if (this.connectMs0 === null) this.connectMs0 = ms;
    else this.connectMs.push(ms);
  }
  protected addTryMs(ms: number): void {
    if (this.tryMs0 === null) this.tryMs0 = ms;
    else this.tryMs.push(ms);
  }
  get connection(): number {
    return this.id;
  }
  get listenName(): string {
    return this.route.listenName;
  }
  /** The session's variable slots, made at first use. */
  get variables(): SessionVariables {
    if (this.vars === null) {
      const registry = this.route.registry;
      if (!registry) throw new Error("a route that reads variables needs the config's registry");
      this.vars = new SessionVariables(registry, this);
    }
    return this.vars;
  }
  status(): number {
    return this.finalStatus;
  }
  logError(message: string): void {
    this.logClientError("error", message);
  }
  onEnd(release: () => void): void {
    (this.releases ??= []).push(release);
  }
}

/** One list of try entries: the field's first entry, then the array's. */
export function firstThen<T>(first: T | null, rest: readonly T[] | null): readonly T[] {
  if (first === null) return rest ?? [];
  return rest === null ? [first] : [first, ...rest];
}
