// `server NAME resolve` lines in an upstream: the servers their last DNS answers made.
import type { UpstreamConfig, UpstreamServerConfig } from "./config/model.ts";

/** The servers an answer makes of a `resolve` line, in its upstream. */
export type ResolvedAnswer = (line: UpstreamServerConfig, upstream: UpstreamConfig) => UpstreamServerConfig[];

/**
 * The key of a `resolve` line in Upstream.resolved: its name and service, as nginx matches
 * an old zone's answers to a reloaded config's lines (not the port), and its role.
 */
export function resolveKey(line: UpstreamServerConfig): string {
  return `${line.host} ${line.service ?? ""} ${line.backup ? "backup" : ""}`;
}

/** The server lines with each `resolve` line replaced by the servers last resolved for it. */
export function expandResolved(config: UpstreamConfig, resolved: ReadonlyMap<string, ResolvedAnswer>): UpstreamServerConfig[] {
  const lines = config.servers;
  if (!lines.some((s) => s.resolve)) return lines as UpstreamServerConfig[];
  return lines.flatMap((s) => (s.resolve ? (resolved.get(resolveKey(s))?.(s, config) ?? []) : [s]));
}
