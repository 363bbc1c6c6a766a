// The proxy_* settings a server{} inherits from stream{} (nginx's merge), one row each, with
// yaoweibin's tcp{} spelling and defaults where it has the setting.
import type { ProxySettings } from "../model.ts";
import { FLAG, intKind, PROXY_PROTOCOL_VERSION, RATE, SIZE, TIME_MS } from "../values/kinds.ts";
import { defaultsOf, row, type SettingRow } from "./row.ts";

export interface ProxyRow extends SettingRow<ProxySettings> {
  /** The directive table's setting group: inherited from stream{} by each server{} (nginx's merge). */
  readonly group: "proxy";
  /** Names nginx still reads for this setting, with its deprecation warning. */
  readonly deprecated?: readonly string[];
  /** In tcp{}: the directive's name there and its default there, when tcp{} has the setting. */
  readonly tcp?: { readonly name: string; readonly default: unknown };
}

type Fields = Parameters<typeof row<ProxySettings, keyof ProxySettings & string>>[0];
const proxy = (r: Fields, extra: Omit<ProxyRow, keyof SettingRow<ProxySettings> | "group"> = {}): ProxyRow => ({
  ...row<ProxySettings, keyof ProxySettings & string>(r),
  ...extra,
  group: "proxy",
});

/** nginx's NGX_MAX_INT32_VALUE, the value of an unset proxy_responses: no limit. */
export const UNLIMITED_RESPONSES = 2147483647;

/** In nginx's documentation order. */
export const PROXY_ROWS: readonly ProxyRow[] = [
  proxy(
    { name: "proxy_connect_timeout", field: "proxyConnectTimeoutMs", kind: TIME_MS, default: 60_000 },
    { tcp: { name: "proxy_connect_timeout", default: 60_000 } },
  ),
  proxy({ name: "proxy_timeout", field: "proxyTimeoutMs", kind: TIME_MS, default: 600_000 }, {
    tcp: { name: "timeout", default: 60_000 },
  }),
  proxy({ name: "proxy_next_upstream", field: "proxyNextUpstream", kind: FLAG, default: true }),
  // 0 = as many tries as the upstream has servers.
  proxy({ name: "proxy_next_upstream_tries", field: "proxyNextUpstreamTries", kind: intKind(0), default: 0 }),
  // 0 = no limit.
  proxy({ name: "proxy_next_upstream_timeout", field: "proxyNextUpstreamTimeoutMs", kind: TIME_MS, default: 0 }),
  proxy(
    { name: "proxy_buffer_size", field: "proxyBufferSize", kind: SIZE, default: 16 * 1024 },
    { deprecated: ["proxy_downstream_buffer", "proxy_upstream_buffer"], tcp: { name: "proxy_buffer", default: 4096 } },
  ),
  proxy({ name: "tcp_nodelay", field: "tcpNodelay", kind: FLAG, default: true }, { tcp: { name: "tcp_nodelay", default: true } }),
  proxy({ name: "proxy_half_close", field: "proxyHalfClose", kind: FLAG, default: false }),
  proxy({ name: "proxy_socket_keepalive", field: "proxySocketKeepalive", kind: FLAG, default: false }),
  proxy({ name: "proxy_session_drop", field: "proxySessionDrop", kind: FLAG, default: false }),
  // UDP only (TCP sessions ignore them, as in nginx).
  proxy({ name: "proxy_requests", field: "proxyRequests", kind: intKind(0), default: 0 }),
  proxy({ name: "proxy_responses", field: "proxyResponses", kind: intKind(0), default: UNLIMITED_RESPONSES }),
  proxy({ name: "proxy_upload_rate", field: "proxyUploadRate", kind: RATE, default: 0 }),
  proxy({ name: "proxy_download_rate", field: "proxyDownloadRate", kind: RATE, default: 0 }),
  proxy({ name: "proxy_protocol", field: "proxyProtocol", kind: PROXY_PROTOCOL_VERSION, default: "off" }),
  // The stream core module's and ssl_preread's settings, inherited by server{} the same way.
  proxy({ name: "proxy_protocol_timeout", field: "proxyProtocolTimeoutMs", kind: TIME_MS, default: 30_000 }),
  proxy({ name: "ssl_preread", field: "sslPreread", kind: FLAG, default: false }),
  proxy({ name: "preread_buffer_size", field: "prereadBufferSize", kind: SIZE, default: 16 * 1024 }),
  proxy({ name: "preread_timeout", field: "prereadTimeoutMs", kind: TIME_MS, default: 30_000 }),
];

export const DEFAULT_PROXY_SETTINGS: ProxySettings = defaultsOf(PROXY_ROWS);

/** tcp{}'s defaults: only what tcp{} has differs (`timeout` 60000 ms, `proxy_buffer` 4k). */
export const TCP_PROXY_SETTINGS: ProxySettings = {
  ...DEFAULT_PROXY_SETTINGS,
  ...Object.fromEntries(PROXY_ROWS.flatMap((r) => (r.tcp ? [[r.field, r.tcp.default]] : []))),
};
