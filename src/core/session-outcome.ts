// How a session ended, as the access log, the stats and the balancer read it. Its own file so
// that the access log (which session.ts writes to) need not import session.ts back.
import type { RelayResult } from "./runtime.ts";
import type { PassHandover } from "./pass-content.ts";

/** nginx's stream $status values. */
export type SessionStatus = 200 | 400 | 403 | 500 | 502 | 503;

export interface SessionOutcome {
  readonly status: SessionStatus;
  /**
   * Every address tried, in order ($upstream_addr); a pick that found no live server adds
   * the upstream's name, as nginx does.
   */
  readonly upstreamAddrs: readonly string[];
  /** Per entry of upstreamAddrs: ms to connect, -1 where it did not ($upstream_connect_time). */
  readonly upstreamConnectMs: readonly number[];
  /** Per entry: ms from the connect attempt to the end of that try ($upstream_session_time). */
  readonly upstreamSessionMs: readonly number[];
  /**
   * For the last try (the only one that can have relayed): ms from its connect to the
   * upstream's first read, -1 where none came ($upstream_first_byte_time).
   */
  readonly upstreamFirstByteMs?: number;
  readonly relay: RelayResult | null;
  /** `pass`: the connection goes on to another listener; this session is not logged. */
  readonly passed?: PassHandover;
}
