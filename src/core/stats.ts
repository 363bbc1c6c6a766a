// Per-listener counters for status and metrics (NGINX Plus's server_zones): plain
// increments when a session starts and ends, nothing per byte.
import type { SessionOutcome, SessionStatus } from "./session-outcome.ts";

export const SESSION_STATUSES: readonly SessionStatus[] = [200, 400, 403, 500, 502, 503];

export class ListenerStats {
  /** Clients accepted. */
  connections = 0;
  /** Sessions running now. */
  active = 0;
  /** Finished sessions by nginx's $status. */
  readonly sessions: Record<SessionStatus, number> = { 200: 0, 400: 0, 403: 0, 500: 0, 502: 0, 503: 0 };
  /** Bytes from clients, and to them. */
  bytesReceived = 0;
  bytesSent = 0;

  started(): void {
    this.connections++;
    this.active++;
  }

  finished(outcome: SessionOutcome | null): void {
    this.active--;
    if (!outcome) return;
    this.sessions[outcome.status]++;
    if (outcome.relay) {
      this.bytesReceived += outcome.relay.bytesFromClient;
      this.bytesSent += outcome.relay.bytesToClient;
    }
  }
}
