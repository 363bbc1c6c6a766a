// What the YAML and nginx writers share: how each server's proxy settings split into
// stream-level defaults and per-server overrides, and the schema rows' values as text.
import { type Config, type ProxySettings, type UpstreamConfig } from "../model.ts";
import { DEFAULT_PROXY_SETTINGS, type ProxyRow } from "../schema/proxy.ts";
import { PROXY_SETTINGS } from "../schema/table.ts";
import { kindOf, type SettingRow } from "../schema/row.ts";

/** A row's value in one spelling: nginx's words or YAML's. */
export function rowText<M>(r: SettingRow<M>, model: M, spelling: "nginx" | "yaml"): string {
  const kind = kindOf<unknown>(r);
  const v = model[r.field];
  return spelling === "nginx" ? kind.toWord(v) : kind.toYaml(v);
}

/** The rows whose value in `model` differs from `base` (by default, from the row's default). */
export function changedRows<M, R extends SettingRow<M>>(rows: readonly R[], model: M, base?: M): R[] {
  return rows.filter((r) => model[r.field] !== (base ? base[r.field] : r.default));
}

/**
 * The settings to write in stream{}: a value every server shares and that differs from
 * nginx's default (so a shared setting reads as it was most likely written). Each server
 * then writes only where it differs from these.
 */
export function streamLevelSettings(config: Config): ProxySettings {
  const servers = config.stream.servers;
  let level: ProxySettings = DEFAULT_PROXY_SETTINGS;
  for (const { field } of PROXY_SETTINGS) {
    const first = servers[0]?.proxy[field];
    if (first !== undefined && servers.every((s) => s.proxy[field] === first)) level = { ...level, [field]: first };
  }
  return level;
}

/** The proxy rows of `settings` that differ from `base`. */
export function changedFields(settings: ProxySettings, base: ProxySettings): ProxyRow[] {
  return changedRows(PROXY_SETTINGS, settings, base);
}

/** The upstreams the config names; the implicit ones come back from `proxy_pass host:port`. */
export function declaredUpstreams(config: Config): UpstreamConfig[] {
  return [...config.stream.upstreams.values()].filter((u) => !u.implicit);
}
