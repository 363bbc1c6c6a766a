// Health checks written back for `streamlb convert`: YAML's `health_check:` mapping, and NGINX
// Plus's `health_check` + `match {}` + `health_check_timeout`, which the nginx reader reads into the
// same HealthCheckConfig. Only what differs from Plus's defaults is written.
import { nginxMatchWord, yamlMatchScalar } from "../values/match-text.ts";
import { type Config, DEFAULT_HEALTH_CHECK, type HealthCheckConfig, type ServerConfig } from "../model.ts";
import { formatTime } from "../values/units.ts";
import { declaredUpstreams } from "./common.ts";

/** `{ interval: 1s, fails: 2, send: "PING\r\n", expect: "PONG" }`, or `{}` for every default. */
export function yamlHealthCheckValue(h: HealthCheckConfig): string {
  const d = DEFAULT_HEALTH_CHECK;
  const items: string[] = [];
  if (h.intervalMs !== d.intervalMs) items.push(`interval: ${formatTime(h.intervalMs)}`);
  if (h.jitterMs !== d.jitterMs) items.push(`jitter: ${formatTime(h.jitterMs)}`);
  if (h.timeoutMs !== d.timeoutMs) items.push(`timeout: ${formatTime(h.timeoutMs)}`);
  if (h.fails !== d.fails) items.push(`fails: ${h.fails}`);
  if (h.passes !== d.passes) items.push(`passes: ${h.passes}`);
  if (h.port !== null) items.push(`port: ${h.port}`);
  if (h.mandatory) items.push("mandatory: true");
  if (h.persistent) items.push("persistent: true");
  if (h.udp) items.push("udp: true");
  if (h.send !== null) items.push(`send: ${yamlMatchScalar(h.send)}`);
  if (h.expect?.kind === "bytes") items.push(`expect: ${yamlMatchScalar(h.expect.bytes)}`);
  if (h.expect?.kind === "regex") {
    // JSON's string syntax is valid YAML double-quoted syntax.
    const caseless = h.expect.caseless ? ", ignore_case: true" : "";
    items.push(`expect: { regex: ${JSON.stringify(h.expect.pattern)}${caseless} }`);
  }
  return items.length ? `{ ${items.join(", ")} }` : "{}";
}

export interface NginxHealthText {
  /** Lines for a server{}: its upstream's health_check (and health_check_timeout). */
  readonly inServer: ReadonlyMap<ServerConfig, readonly string[]>;
  /** `match` blocks for stream{}, one per check that sends or expects. */
  readonly matches: readonly (readonly string[])[];
  /** A comment for an upstream whose check no server{} can carry (nginx has no other place). */
  readonly orphans: ReadonlyMap<string, readonly string[]>;
}

/**
 * Each upstream's check goes into the first server{} that proxy_passes to it (nginx checks
 * the group of the server the directive is in); its send/expect become `match NAME {}`.
 */
export function nginxHealthChecks(config: Config, word: (text: string) => string): NginxHealthText {
  const inServer = new Map<ServerConfig, string[]>();
  const matches: string[][] = [];
  const orphans = new Map<string, string[]>();
  for (const u of declaredUpstreams(config)) {
    const h = u.healthCheck;
    if (!h) continue;
    const server = config.stream.servers.find((s) => s.proxyPass === u.name);
    if (!server) {
      orphans.set(u.name, [`# health_check: not written, nginx runs one only from a server{} that proxy_passes here`]);
      continue;
    }
    const d = DEFAULT_HEALTH_CHECK;
    const params = ["health_check"];
    if (h.intervalMs !== d.intervalMs) params.push(`interval=${formatTime(h.intervalMs)}`);
    if (h.jitterMs !== d.jitterMs) params.push(`jitter=${formatTime(h.jitterMs)}`);
    if (h.fails !== d.fails) params.push(`fails=${h.fails}`);
    if (h.passes !== d.passes) params.push(`passes=${h.passes}`);
    if (h.port !== null) params.push(`port=${h.port}`);
    if (h.send !== null || h.expect !== null) {
      params.push(word(`match=${u.name}`));
      const body: string[] = [];
      if (h.send !== null) body.push(`send ${nginxMatchWord(h.send)};`);
      if (h.expect?.kind === "bytes") body.push(`expect ${nginxMatchWord(h.expect.bytes)};`);
      if (h.expect?.kind === "regex") body.push(`expect ${h.expect.caseless ? "~*" : "~"} ${word(h.expect.pattern)};`);
      matches.push([`match ${word(u.name)} {`, ...body.map((l) => `    ${l}`), "}"]);
    }
    if (h.mandatory) params.push("mandatory");
    if (h.persistent) params.push("persistent");
    if (h.udp) params.push("udp");
    const lines = inServer.get(server) ?? [];
    lines.push(`${params.join(" ")};`);
    if (h.timeoutMs !== d.timeoutMs) lines.push(`health_check_timeout ${formatTime(h.timeoutMs)};`);
    inServer.set(server, lines);
  }
  return { inServer, matches, orphans };
}
