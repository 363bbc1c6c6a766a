// The probe outcomes that carry no data, shared by every adapter's probe (allocated once).
import type { ProbeResult } from "../core/runtime.ts";

export const EMPTY = new Uint8Array(0);
export const OK_EMPTY: ProbeResult = { kind: "ok", received: EMPTY };
export const REFUSED: ProbeResult = { kind: "refused" };
export const CONNECT_TIMEOUT: ProbeResult = { kind: "timeout", stage: "connect" };
export const REPLY_TIMEOUT: ProbeResult = { kind: "timeout", stage: "reply" };
export const ABORTED: ProbeResult = { kind: "aborted" };
