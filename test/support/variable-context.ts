// A session's facts for variable unit tests: plain values, overridable per test.
import type { VariableContext } from "../../src/core/variables/context.ts";

export function variableContext(over: Partial<VariableContext> = {}): VariableContext & { errors: string[] } {
  const errors: string[] = [];
  return {
    remoteAddress: "10.1.2.3",
    remotePort: 5555,
    serverAddress: "127.0.0.1",
    serverPort: 8000,
    protocol: "TCP",
    connection: 7,
    startMs: 1_000_000,
    now: () => 1_001_250,
    status: () => 0,
    bytesSent: () => 0,
    bytesReceived: () => 0,
    upstreamTries: () => [],
    serverName: "",
    proxyProtocol: null,
    realip: null,
    preread: null,
    limitConnStatus: null,
    ssl: () => null,
    logError: (m) => errors.push(m),
    errors,
    ...over,
  };
}
