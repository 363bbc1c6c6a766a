// The variables of a finished session computed from its record alone (no live session):
// for access-log lines of records made without a session (tests, tools), so that every
// line, live or not, goes through the one set of variable getters.
import type { Connection } from "../runtime.ts";
import type { SessionOutcome } from "../session-outcome.ts";
import type { LimitConnStatus, PrereadFacts, ProxyHeaderFacts, UpstreamTry, VariableContext } from "./context.ts";

/** What the access log keeps of a finished session (access-log.ts's SessionRecord is one). */
export interface FinishedSession {
  readonly id: number;
  readonly client: Pick<Connection, "remoteAddress" | "remotePort" | "localAddress" | "localPort">;
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: SessionOutcome;
  /** $protocol; absent = TCP (a UDP session's record says UDP). */
  readonly protocol?: "TCP" | "UDP";
}

export class RecordContext implements VariableContext {
  readonly serverName = "";
  readonly proxyProtocol: ProxyHeaderFacts | null = null;
  readonly realip = null;
  readonly preread: PrereadFacts | null = null;
  readonly limitConnStatus: LimitConnStatus | null = null;

  constructor(private readonly record: FinishedSession) {}

  get protocol(): "TCP" | "UDP" {
    return this.record.protocol ?? "TCP";
  }
  get remoteAddress(): string {
    return this.record.client.remoteAddress;
  }
  get remotePort(): number {
    return this.record.client.remotePort;
  }
  get serverAddress(): string {
    return this.record.client.localAddress;
  }
  get serverPort(): number {
    return this.record.client.localPort;
  }
  get connection(): number {
    return this.record.id;
  }
  get startMs(): number {
    return this.record.startMs;
  }
  now(): number {
    return this.record.endMs;
  }
  status(): number {
    return this.record.outcome.status;
  }
  bytesSent(): number {
    return this.record.outcome.relay?.bytesToClient ?? 0;
  }
  bytesReceived(): number {
    return this.record.outcome.relay?.bytesFromClient ?? 0;
  }
  upstreamTries(): readonly UpstreamTry[] {
    return outcomeTries(this.record.outcome);
  }
  ssl(): string | null {
    return null;
  }
  logError(): void {}
}

/** One try per address; only the last try can have moved bytes (the others never connected). */
export function outcomeTries(o: SessionOutcome): UpstreamTry[] {
  const n = o.upstreamAddrs.length;
  return o.upstreamAddrs.map((addr, i) => ({
    addr,
    bytesSent: i === n - 1 ? (o.relay?.bytesToUpstream ?? 0) : 0,
    bytesReceived: i === n - 1 ? (o.relay?.bytesFromUpstream ?? 0) : 0,
    connectMs: o.upstreamConnectMs[i] ?? -1,
    firstByteMs: i === n - 1 ? (o.upstreamFirstByteMs ?? -1) : -1,
    sessionMs: o.upstreamSessionMs[i] ?? 0,
  }));
}
