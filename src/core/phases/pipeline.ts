// A server{}'s phases, from its config, in nginx's order: only what the config switches on.
import type { ServerConfig } from "../config/model.ts";
import type { SharedCounters } from "../shared-counters.ts";
import type { ComplexValue } from "../variables/complex-value.ts";
import type { ServerVariables } from "../variables/stream-variables.ts";
import { accessPhase, AccessRules } from "./access.ts";
import { limitConnPhase } from "./limit-conn.ts";
import { type Phase, PHASE_ORDER } from "./phase.ts";
import { proxyProtocolPhase } from "./proxy-protocol-accept.ts";
import { realipPhase } from "./realip.ts";
import { sslPrereadPhase } from "./ssl-preread.ts";

/** What limit_conn needs beyond the server: its zones' keys and the counts every worker shares. */
export interface LimitConnWorld {
  readonly keys: ReadonlyMap<string, ComplexValue>;
  readonly zoneKeys: ReadonlyMap<string, string>;
  readonly counters: SharedCounters;
}

/** What of a listen shapes its phases: a PROXY header to read; UDP, where preread declines. */
export interface ListenPhases {
  readonly proxyProtocol?: boolean;
  readonly udp?: boolean;
}

export function buildPhases(
  server: ServerConfig,
  vars: ServerVariables,
  listen: ListenPhases = {},
  limits?: LimitConnWorld,
): Phase[] {
  const phases: Phase[] = [];
  const proxy = server.proxy;
  // The PROXY header is read before any phase (ngx_stream_init_connection); realip acts on it.
  if (listen.proxyProtocol) {
    phases.push(proxyProtocolPhase(proxy.proxyProtocolTimeoutMs));
    const realip = realipPhase(server.realipFrom ?? []);
    if (realip) phases.push(realip);
  }
  const set = vars.set;
  // ngx_stream_set_module runs in PREACCESS, in config order; limit_conn after it, so its keys
  // see what `set` assigned.
  if (set) phases.push({ name: "pre_access", run: (s) => (set.run(s.variables), "next") });
  const lc = server.limitConn;
  if (lc && lc.limits.length > 0 && limits) {
    const compiled = lc.limits.map((l) => ({
      zone: l.zone,
      conn: l.conn,
      key: limits.keys.get(l.zone)!,
      keyText: limits.zoneKeys.get(l.zone)!,
    }));
    phases.push(limitConnPhase(compiled, lc, limits.counters));
  }
  const access = AccessRules.compile(server.access);
  if (access) phases.push(accessPhase(access));
  if (proxy.sslPreread && !listen.udp) {
    phases.push(sslPrereadPhase({ bufferSize: proxy.prereadBufferSize, timeoutMs: proxy.prereadTimeoutMs }));
  }
  // Stable: phases of one name keep the order they were added in.
  return phases.sort((a, b) => PHASE_ORDER.indexOf(a.name) - PHASE_ORDER.indexOf(b.name));
}

/** `phases` with one more, at its place in nginx's order (after those of its own name). */
export function addPhase(phases: readonly Phase[] | undefined, phase: Phase): Phase[] {
  const list = [...(phases ?? []), phase];
  return list.sort((a, b) => PHASE_ORDER.indexOf(a.name) - PHASE_ORDER.indexOf(b.name));
}

/** The phases after `done`'s place in another route's list (i is the index before the first). */
export function phasesAfter(phases: readonly Phase[] | undefined, done: Phase): { phases: readonly Phase[]; i: number } {
  const list = phases ?? [];
  const at = PHASE_ORDER.indexOf(done.name);
  const next = list.findIndex((p) => PHASE_ORDER.indexOf(p.name) > at);
  return { phases: list, i: (next < 0 ? list.length : next) - 1 };
}
