// `streamlb convert` for limit_conn and proxy_bind, in both spellings. Each server writes its merged limits
// (nginx's inheritance, read back, gives the same), and stream{} its zones.
import type { Config, ServerConfig } from "../model.ts";

export function nginxLimitConnZones(config: Config, word: (s: string) => string): string[] {
  return [...(config.stream.limitConnZones?.values() ?? [])].map((z) =>
    `limit_conn_zone ${word(z.key)} ${word(`zone=${z.name}:${z.size}`)};`
  );
}

export function nginxLimitConn(s: ServerConfig, word: (s: string) => string): string[] {
  const bind = s.proxyBind === undefined ? [] : [`proxy_bind ${word(s.proxyBind)};`];
  const lc = s.limitConn;
  if (!lc) return bind;
  return [
    ...bind,
    ...lc.limits.map((l) => `limit_conn ${word(l.zone)} ${l.conn};`),
    ...(lc.dryRun ? ["limit_conn_dry_run on;"] : []),
    ...(lc.logLevel !== "error" ? [`limit_conn_log_level ${lc.logLevel};`] : []),
  ];
}

export function yamlLimitConnZones(config: Config, scalar: (v: string) => string): string[] {
  const zones = [...(config.stream.limitConnZones?.values() ?? [])];
  if (zones.length === 0) return [];
  return [
    "  limit_conn_zone:",
    ...zones.map((z) => `    ${scalar(z.name)}: { key: ${scalar(z.key)}, size: ${scalar(z.size)} }`),
  ];
}

export function yamlLimitConn(s: ServerConfig, indent: string, scalar: (v: string) => string): string[] {
  const bind = s.proxyBind === undefined ? [] : [`${indent}proxy_bind: ${scalar(s.proxyBind)}`];
  const lc = s.limitConn;
  if (!lc) return bind;
  return [
    ...bind,
    ...(lc.limits.length > 0
      ? [`${indent}limit_conn: { ${lc.limits.map((l) => `${scalar(l.zone)}: ${l.conn}`).join(", ")} }`]
      : []),
    ...(lc.dryRun ? [`${indent}limit_conn_dry_run: true`] : []),
    ...(lc.logLevel !== "error" ? [`${indent}limit_conn_log_level: ${lc.logLevel}`] : []),
  ];
}
