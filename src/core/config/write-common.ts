// What the YAML and nginx writers share: the proxy_* settings by directive name, and how
// each server's settings split into stream-level defaults and per-server overrides.
import { DEFAULT_PROXY_SETTINGS, type Config, type ProxySettings, type UpstreamConfig } from "./model.ts";
import { formatSize, formatTime } from "./units.ts";

export type ProxyValueKind = "time" | "flag" | "int" | "size";

/** Every ProxySettings field, by the directive that sets it, in nginx's documentation order. */
export const PROXY_FIELDS: ReadonlyArray<{ key: keyof ProxySettings; name: string; kind: ProxyValueKind }> = [
  { key: "proxyConnectTimeoutMs", name: "proxy_connect_timeout", kind: "time" },
  { key: "proxyTimeoutMs", name: "proxy_timeout", kind: "time" },
  { key: "proxyNextUpstream", name: "proxy_next_upstream", kind: "flag" },
  { key: "proxyNextUpstreamTries", name: "proxy_next_upstream_tries", kind: "int" },
  { key: "proxyNextUpstreamTimeoutMs", name: "proxy_next_upstream_timeout", kind: "time" },
  { key: "proxyBufferSize", name: "proxy_buffer_size", kind: "size" },
  { key: "tcpNodelay", name: "tcp_nodelay", kind: "flag" },
  { key: "proxyHalfClose", name: "proxy_half_close", kind: "flag" },
  { key: "proxySocketKeepalive", name: "proxy_socket_keepalive", kind: "flag" },
  { key: "proxySessionDrop", name: "proxy_session_drop", kind: "flag" },
];

export type ProxyField = (typeof PROXY_FIELDS)[number];

/** A proxy setting's value as text; the two spellings differ only in how a flag reads. */
export function proxyValue(f: ProxyField, settings: ProxySettings, flag: { on: string; off: string }): string {
  const v = settings[f.key];
  switch (f.kind) {
    case "time":
      return formatTime(v as number);
    case "size":
      return formatSize(v as number);
    case "flag":
      return v ? flag.on : flag.off;
    case "int":
      return String(v);
  }
}

/**
 * The settings to write in stream{}: a value every server shares and that differs from
 * nginx's default (so a shared setting reads as it was most likely written). Each server
 * then writes only where it differs from these.
 */
export function streamLevelSettings(config: Config): ProxySettings {
  const servers = config.stream.servers;
  let level: ProxySettings = DEFAULT_PROXY_SETTINGS;
  for (const { key } of PROXY_FIELDS) {
    const first = servers[0]?.proxy[key];
    if (first !== undefined && servers.every((s) => s.proxy[key] === first)) level = { ...level, [key]: first };
  }
  return level;
}

/** The fields of `settings` that differ from `base`. */
export function changedFields(settings: ProxySettings, base: ProxySettings): ProxyField[] {
  return PROXY_FIELDS.filter((f) => settings[f.key] !== base[f.key]);
}

/** The upstreams the config names; the implicit ones come back from `proxy_pass host:port`. */
export function declaredUpstreams(config: Config): UpstreamConfig[] {
  return [...config.stream.upstreams.values()].filter((u) => !u.implicit);
}
