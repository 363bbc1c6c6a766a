// Master ↔ worker messages (a leaf module: the runtime adapters carry them as JSON). They are
// rare or batched: readiness, health verdicts, the connection counts of the upstreams that
// need them, passive failures, counter asks (limits), status gathering, and the generation's
// TLS secret.

/** Worker → master: this worker's own conns of these peers now (absolute, so order is moot). */
export interface ConnsMessage {
  readonly type: "conns";
  /** Master → worker: whose counts these are; absent from a worker. */
  readonly worker?: number;
  /** [peer key, conns]; null (from the master): that worker is gone, drop its counts. */
  readonly counts: ReadonlyArray<readonly [string, number]> | null;
}

/** A passive failure or recovery changed a peer's max_fails state (worker → master → others). */
export interface PassiveMessage {
  readonly type: "passive";
  readonly key: string;
  readonly fails: number;
  readonly accessedSec: number;
  readonly checkedSec: number;
}

export type CounterMessage =
  | { readonly type: "acquire"; readonly id: number; readonly zone: string; readonly key: string; readonly limit: number }
  | { readonly type: "release"; readonly zone: string; readonly key: string }
  | { readonly type: "acquired"; readonly id: number; readonly ok: boolean };

/**
 * /status over every worker: the worker serving it asks, the master asks each other worker
 * for its own snapshot and hands the parts back.
 */
export type StatusMessage =
  | { readonly type: "status-ask"; readonly id: number }
  | { readonly type: "status-report"; readonly id: number }
  | { readonly type: "status-part"; readonly id: number; readonly part: unknown }
  | { readonly type: "status-parts"; readonly id: number; readonly parts: readonly unknown[] };

/**
 * Master → worker: this config generation's secret, from which TLS session ticket keys are
 * drawn (hex). Made anew on each reload, as nginx makes keys per cycle; never logged.
 */
export interface TlsSecretMessage {
  readonly type: "tls-secret";
  readonly secret: string;
}

export type WorkerMessage =
  | { readonly type: "ready" }
  | TlsSecretMessage
  | {
    readonly type: "health";
    readonly upstream: string;
    readonly server: string;
    readonly health: "healthy" | "unhealthy" | "unchecked";
  }
  | ConnsMessage
  | PassiveMessage
  | CounterMessage
  | StatusMessage;

const TYPES: ReadonlySet<string> = new Set([
  "ready",
  "tls-secret",
  "health",
  "conns",
  "passive",
  "acquire",
  "release",
  "acquired",
  "status-ask",
  "status-report",
  "status-part",
  "status-parts",
]);

/** Ours, as opposed to node:cluster's own messages on the same channel. */
export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === "object" && m !== null && TYPES.has((m as { type?: unknown }).type as string);
}
