// limit_conn_zone, limit_conn, limit_conn_dry_run and limit_conn_log_level, read as nginx's
// ngx_stream_limit_conn_module reads them (its messages word for word), and their merge.
import {
  LIMIT_CONN_LOG_LEVELS,
  type LimitConnConfig,
  type LimitConnLogLevel,
  type LimitConnRule,
  type LimitConnZoneConfig,
} from "../model.ts";
import { parseSize } from "../values/units.ts";
import type { ReaderContext } from "./context.ts";
import { proxyBind } from "./proxy-bind.ts";
import type { NginxDirective } from "./tokenizer.ts";

/** A stream{} or server{} block's limit_conn lines; null = not written there. */
export interface LimitConnDraft {
  limits: LimitConnRule[] | null;
  dryRun: boolean | null;
  logLevel: LimitConnLogLevel | null;
  /** proxy_bind as written here ("off" included): read beside limit_conn to keep reader.ts small. */
  proxyBind: string | null;
}

export const limitConnDraft = (): LimitConnDraft => ({ limits: null, dryRun: null, logLevel: null, proxyBind: null });

/** The zones read so far, with their sizes in bytes (nginx compares them). */
export type ZoneTable = Map<string, LimitConnZoneConfig & { bytes: number }>;

/** nginx refuses a shared zone below 8 pages of 4 KiB. */
const MIN_ZONE_BYTES = 8 * 4096;

/**
 * Takes the directive when it is one of the module's; `zones` only in stream{}, where
 * limit_conn_zone may be written. false: not the module's.
 */
export function limitConnDirective(
  cx: ReaderContext,
  d: NginxDirective,
  into: LimitConnDraft,
  zones: Map<string, LimitConnZoneConfig & { bytes: number }> | null,
): boolean {
  switch (d.name) {
    case "proxy_bind":
      into.proxyBind = proxyBind(cx, d);
      return true;
    case "limit_conn_zone":
      if (!zones) return false;
      zone(cx, d, zones);
      return true;
    case "limit_conn": {
      const limits = (into.limits ??= []);
      const [name, n] = d.args as [string, string];
      if (limits.some((l) => l.zone === name)) cx.fail(d, `"limit_conn" directive is duplicate`);
      const conn = /^[0-9]+$/.test(n) ? Number(n) : 0;
      if (conn <= 0) cx.fail(d, `invalid number of connections "${n}"`);
      if (conn > 65535) cx.fail(d, `connection limit must be less 65536`);
      limits.push({ zone: name, conn, loc: cx.loc(d) });
      return true;
    }
    case "limit_conn_dry_run": {
      const v = d.args[0]!.toLowerCase();
      if (v !== "on" && v !== "off") {
        cx.fail(d, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
      }
      into.dryRun = v === "on";
      return true;
    }
    case "limit_conn_log_level": {
      const level = LIMIT_CONN_LOG_LEVELS.find((l) => l === d.args[0]);
      if (!level) cx.fail(d, `invalid value "${d.args[0]}"`);
      into.logLevel = level;
      return true;
    }
  }
  return false;
}

function zone(cx: ReaderContext, d: NginxDirective, zones: Map<string, LimitConnZoneConfig & { bytes: number }>): void {
  const [key, param] = d.args as [string, string];
  if (!param.startsWith("zone=")) cx.fail(d, `invalid parameter "${param}"`);
  const colon = param.indexOf(":");
  if (colon < 0) cx.fail(d, `invalid zone size "${param}"`);
  const name = param.slice(5, colon);
  const size = param.slice(colon + 1);
  const bytes = parseSize(size);
  if (bytes === null) cx.fail(d, `invalid zone size "${param}"`);
  if (bytes < MIN_ZONE_BYTES) cx.fail(d, `zone "${param}" is too small`);
  if (name.length === 0) cx.fail(d, `"${d.name}" must have "zone" parameter`);
  const old = zones.get(name);
  if (old && old.key !== key) cx.fail(d, `${d.name} "${name}" is already bound to key "${old.key}"`);
  if (old && old.bytes !== bytes) {
    cx.fail(d, `the size ${bytes} of shared memory zone "${name}" conflicts with already declared size ${old.bytes}`);
  }
  zones.set(name, { name, key, size, bytes, loc: cx.loc(d) });
}

/** nginx's merge: a server{} with limit_conn lines of its own does not inherit stream{}'s. */
export function mergeLimitConn(server: LimitConnDraft, block: LimitConnDraft): LimitConnConfig | undefined {
  const limits = server.limits ?? block.limits ?? [];
  const dryRun = server.dryRun ?? block.dryRun ?? false;
  const logLevel = server.logLevel ?? block.logLevel ?? "error";
  if (limits.length === 0 && !dryRun && logLevel === "error") return undefined;
  return { limits, dryRun, logLevel };
}
