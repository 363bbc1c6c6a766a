// limit_conn in YAML, one to one with nginx's directives:
//   stream.limit_conn_zone:  { NAME: { key: $binary_remote_addr, size: 1m } }  (zone=NAME:SIZE)
//   limit_conn:              { ZONE: N, ... }  in stream and in each server, in order
//   limit_conn_dry_run:      on | off;   limit_conn_log_level: info | notice | warn | error
import type { Node } from "yaml";
import {
  LIMIT_CONN_LOG_LEVELS,
  type LimitConnConfig,
  type LimitConnLogLevel,
  type LimitConnRule,
  type LimitConnZoneConfig,
} from "../model.ts";
import { proxyBindProblem } from "../read-nginx/proxy-bind.ts";
import type { Entries, YamlWalker } from "./walker.ts";

export const LIMIT_CONN_KEYS = ["limit_conn", "limit_conn_dry_run", "limit_conn_log_level"];

/** `proxy_bind: ADDRESS | off` at a level; null when not written there. */
export function yamlProxyBind(w: YamlWalker, e: Entries): string | null {
  if (!e.has("proxy_bind")) return null;
  const node = e.get("proxy_bind")!.value;
  const v = String(w.scalar(node, "proxy_bind"));
  if (v === "off") return v;
  if (/\stransparent$/.test(v)) {
    w.fail(node, `"proxy_bind ... transparent" is not supported: no runtime streamlb runs on can set IP_TRANSPARENT`);
  }
  const problem = proxyBindProblem(v);
  if (problem) w.fail(node, problem);
  return v;
}

/** nginx refuses a shared zone below 8 pages of 4 KiB. */
const MIN_ZONE_BYTES = 8 * 4096;

export function yamlLimitConnZones(w: YamlWalker, node: Node | null): LimitConnZoneConfig[] {
  return w.namedEntries(node, "limit_conn_zone").map(({ name, key, value }) => {
    const e = w.entries(value, `limit_conn_zone "${name}"`, ["key", "size"]);
    if (!e.has("key") || !e.has("size")) w.fail(key, `limit_conn_zone "${name}" needs "key" and "size"`);
    const size = String(w.scalar(e.get("size")!.value, "limit_conn_zone size"));
    if (w.size(e.get("size")!.value, "limit_conn_zone size") < MIN_ZONE_BYTES) {
      w.fail(e.get("size")!.value, `zone "zone=${name}:${size}" is too small`);
    }
    return { name, key: w.string(e.get("key")!.value, "limit_conn_zone key"), size, loc: w.loc(key) };
  });
}

/** A level's own limit_conn settings; null members were not written there. */
export interface YamlLimitConn {
  readonly limits: LimitConnRule[] | null;
  readonly dryRun: boolean | null;
  readonly logLevel: LimitConnLogLevel | null;
}

export function yamlLimitConn(w: YamlWalker, e: Entries): YamlLimitConn {
  const limitsNode = e.get("limit_conn")?.value ?? null;
  const limits = e.has("limit_conn")
    ? w.namedEntries(limitsNode, "limit_conn").map(({ name, key, value }) => ({
      zone: name,
      conn: w.int(value, `limit_conn "${name}"`, 1, 65535),
      loc: w.loc(key),
    }))
    : null;
  const dryRun = e.has("limit_conn_dry_run") ? w.flag(e.get("limit_conn_dry_run")!.value, "limit_conn_dry_run") : null;
  let logLevel: LimitConnLogLevel | null = null;
  if (e.has("limit_conn_log_level")) {
    const node = e.get("limit_conn_log_level")!.value;
    const v = w.string(node, "limit_conn_log_level");
    logLevel = LIMIT_CONN_LOG_LEVELS.find((l) => l === v) ??
      w.fail(node, `invalid limit_conn_log_level "${v}" (expected one of: ${LIMIT_CONN_LOG_LEVELS.join(", ")})`);
  }
  return { limits, dryRun, logLevel };
}

/** nginx's merge: a server's own limit_conn lines replace stream{}'s. */
export function mergeYamlLimitConn(own: YamlLimitConn, inherited: YamlLimitConn): { limitConn?: LimitConnConfig } {
  const limits = own.limits ?? inherited.limits ?? [];
  const dryRun = own.dryRun ?? inherited.dryRun ?? false;
  const logLevel = own.logLevel ?? inherited.logLevel ?? "error";
  if (limits.length === 0 && !dryRun && logLevel === "error") return {};
  return { limitConn: { limits, dryRun, logLevel } };
}
