// What one health check sends and expects, and its verdict on a probe's result in the words
// the error log uses; health.ts only schedules checks and counts passes and fails.
import { byteRegex, bytesOf } from "./config/values/match-text.ts";
import type { HealthCheckConfig } from "./config/model.ts";
import { DEFAULT_UDP_CHECK_SEND } from "./health-udp-probe.ts";
import type { ProbeOptions, ProbeResult } from "./runtime.ts";

/** A check's config turned into what each probe needs, built once per (re)load. */
export interface CompiledCheck {
  readonly config: HealthCheckConfig;
  readonly options: ProbeOptions;
  /** Checks due within this much of the timer run together: fewer wake-ups, same schedule. */
  readonly slackMs: number;
  readonly passDetail: string;
  /** Why the check failed, or null when it passed. */
  judge(result: ProbeResult): string | null;
}

export function compileCheck(config: HealthCheckConfig, maxBytes: number, signal: AbortSignal): CompiledCheck {
  const expect = config.expect;
  let matches: (received: Uint8Array) => boolean = () => true;
  let wanted = "";
  if (expect?.kind === "bytes") {
    const needle = bytesOf(expect.bytes);
    matches = (received) => contains(received, needle);
    wanted = quote(expect.bytes);
  } else if (expect?.kind === "regex") {
    const regex = byteRegex(expect.pattern, expect.caseless);
    matches = (received) => regex.test(latin1(received));
    wanted = `${expect.caseless ? "~*" : "~"} ${quote(expect.pattern)}`;
  }
  const udp = config.udp;
  const send = config.send !== null ? bytesOf(config.send) : udp ? bytesOf(DEFAULT_UDP_CHECK_SEND) : null;
  return {
    config,
    options: { timeoutMs: config.timeoutMs, send, maxBytes: expect ? maxBytes : 0, enough: matches, signal },
    slackMs: Math.min(20, Math.max(1, Math.floor(config.intervalMs / 50))),
    passDetail: expect ? "reply matched" : udp ? "no ICMP port unreachable" : send ? "sent" : "connected",
    judge(result) {
      switch (result.kind) {
        case "ok":
          if (!expect || matches(result.received)) return null;
          if (result.received.byteLength === 0 && !udp) {
            return `the server closed the connection without a reply matching ${wanted}`;
          }
          return `the reply did not match ${wanted}: got ${quote(latin1(result.received.subarray(0, 48)))}`;
        case "refused":
          // On UDP the refusal is an ICMP port unreachable, seen when reading the reply.
          return udp ? "recv() failed (111: Connection refused)" : "connect() failed (111: Connection refused)";
        case "timeout":
          return result.stage === "connect"
            ? "connect() timed out (110: Connection timed out)"
            : `timed out (110: Connection timed out) waiting for a reply matching ${wanted}`;
        case "error":
          return `failed (${result.code}: ${result.detail})`;
        case "aborted":
          return "aborted";
      }
    },
  };
}

/** Bytes as characters 0-255, the form byteRegex patterns match against. */
function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.byteLength; i += 4096) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return out;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  const n = needle.byteLength;
  if (n === 0) return true;
  const first = needle[0];
  outer: for (let i = 0; i + n <= haystack.byteLength; i++) {
    if (haystack[i] !== first) continue;
    for (let j = 1; j < n; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A byte string for a log line: printable ASCII as is, the rest escaped. */
function quote(bytes: string): string {
  let out = '"';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c === 0x0d) out += "\\r";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x22 || c === 0x5c) out += `\\${bytes[i]}`;
    else if (c >= 0x20 && c < 0x7f) out += bytes[i];
    else out += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}
