// What status and metrics read of one upstream server: lifetime counters and its last check.

/** Lifetime counters for status and metrics: plain increments, nothing more on the hot path. */
export class PeerStats {
  /** Sessions that connected to this server. */
  sessions = 0;
  /** Connect errors and timeouts (nginx's passive failures). */
  connectFailures = 0;
  /** Times max_fails took it out ("upstream server temporarily disabled"). */
  disabled = 0;
  /** Bytes relayed from clients to this server, and back. */
  bytesToServer = 0;
  bytesFromServer = 0;
  /** Epoch ms of the last session start, 0 = never. */
  lastSessionMs = 0;
  /** Active health checks run, and how many of them failed. */
  checks = 0;
  checkFailures = 0;
  /** Times active checks marked it unhealthy (NGINX Plus's health_checks.unhealthy). */
  unhealthyCount = 0;
}

/** How the last active health check of a server went. */
export interface CheckOutcome {
  readonly ok: boolean;
  /** "connected", "reply matched", or why it failed ("connect() failed (111: Connection refused)"). */
  readonly detail: string;
  /** Epoch ms when it ended. */
  readonly atMs: number;
}
