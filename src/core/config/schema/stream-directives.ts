// The directive table's rows for stream{} and its modules (nginx's, NGINX Plus's, njs's and
// the upstream check module's). The proxy_* settings take their setting rows from proxy.ts.
import { type DirectiveRow, rows, S, S_SS, settingRows, SS, SU } from "./directive.ts";
import { PROXY_ROWS } from "./proxy.ts";

const unique = true;
const block = true;
const runs = "runs";
const harmless = (why: string) => ({ harmless: why });
const HASH_HINT = harmless("a hash table size hint");
const BUFFER_HINT = harmless("a socket buffer size hint");
/** Taken when a `check type=http` uses them; without one they do nothing, in their module too. */
export const HTTP_CHECK_ONLY = harmless("without `check type=http` it does nothing");
export const RESOLVER_ONLY = harmless("it only changes resolver, which is refused");

/** The inherited settings' modules: most are the proxy module's. */
const CORE_SETTINGS = ["tcp_nodelay", "proxy_protocol_timeout", "preread_buffer_size", "preread_timeout"];
const proxySettingModule = (name: string) =>
  CORE_SETTINGS.includes(name)
    ? "stream_core_module"
    : name === "ssl_preread"
    ? "stream_ssl_preread_module"
    : "stream_proxy_module";

// The TLS directives read-nginx/ssl.ts reads;
// the others (OCSP, stapling, key logs, ticket keys, conf commands, caches) stay refused.
const SSL_FLAGS_RUN = "ssl_prefer_server_ciphers ssl_session_tickets ssl_reject_handshake";
const SSL_FLAGS_REFUSED = "ssl_stapling ssl_stapling_verify ssl_ocsp_cache";
const SSL_TAKE1_RUN = "ssl_ecdh_curve ssl_ciphers ssl_verify_client ssl_verify_depth";
const SSL_TAKE1_REFUSED = "ssl_dhparam ssl_ocsp ssl_ocsp_responder ssl_stapling_file ssl_stapling_responder ssl_key_log";
const SSL_PATHS = "ssl_client_certificate ssl_trusted_certificate ssl_crl";
const PROXY_SSL_TAKE1 = "proxy_ssl_ciphers proxy_ssl_name proxy_ssl_verify_depth";
const PROXY_SSL_PATHS = "proxy_ssl_trusted_certificate proxy_ssl_crl proxy_ssl_password_file";

export const STREAM_DIRECTIVES: readonly DirectiveRow[] = [
  // stream_core_module
  ...rows("server", "stream_core_module", "stream", S, [0], { block, support: runs }),
  ...rows("listen", "stream_core_module", "stream", SS, "1more", { support: runs }),
  ...rows("error_log", "stream_core_module", "stream", S_SS, "1more", { support: runs, path: true }),
  // In stream{} and upstream{} (their `resolve` servers, proxy_pass $var); a server{}'s own is refused.
  ...rows("resolver", "stream_core_module", "stream", [...S, ...SU], "1more", { unique, support: runs }),
  ...rows("resolver", "stream_core_module", "stream", SS, "1more", { unique }),
  ...rows("resolver_timeout", "stream_core_module", "stream", [...S, ...SU], [1], { unique, value: "time", support: runs }),
  ...rows("resolver_timeout", "stream_core_module", "stream", SS, [1], { unique, value: "time" }),
  ...rows(
    "variables_hash_max_size variables_hash_bucket_size server_names_hash_max_size server_names_hash_bucket_size",
    "stream_core_module",
    "stream",
    S,
    [1],
    { unique, value: "number", support: HASH_HINT },
  ),
  ...rows("server_name", "stream_core_module", "stream", SS, "1more", { support: runs }),

  // stream_proxy_module (and tcp_nodelay): the settings, then the rest
  ...rows("proxy_pass", "stream_proxy_module", "stream", SS, [1], { unique, support: runs }),
  // A deprecated name sets the same slot: both in one block are a duplicate.
  ...PROXY_ROWS.flatMap((r) =>
    settingRows([r.name, ...(r.deprecated ?? [])].join(" "), proxySettingModule(r.name), "stream", S_SS, r, { slot: r.name })
  ),
  ...rows("proxy_bind", "stream_proxy_module", "stream", S_SS, [1, 2], { unique, support: runs }),
  ...rows("proxy_socket_rcvbuf proxy_socket_sndbuf", "stream_proxy_module", "stream", S_SS, [1], {
    unique,
    value: "size",
    support: BUFFER_HINT,
  }),
  ...rows("proxy_ssl", "stream_proxy_module", "stream", S_SS, "flag", { unique, support: runs }),
  ...rows("proxy_ssl_session_reuse proxy_ssl_server_name proxy_ssl_verify", "stream_proxy_module", "stream", S_SS, "flag", {
    unique,
    support: runs,
  }),
  ...rows(PROXY_SSL_TAKE1, "stream_proxy_module", "stream", S_SS, [1], { unique, support: runs }),
  ...rows(PROXY_SSL_PATHS, "stream_proxy_module", "stream", S_SS, [1], { unique, support: runs, path: true }),
  ...rows("proxy_ssl_certificate proxy_ssl_certificate_key", "stream_proxy_module", "stream", S_SS, [1], {
    support: runs,
    path: true,
  }),
  ...rows("proxy_ssl_protocols", "stream_proxy_module", "stream", S_SS, "1more", { unique, support: runs }),
  ...rows("proxy_ssl_alpn", "stream_proxy_module", "stream", S_SS, "1more", { unique, support: runs }),
  ...rows("proxy_ssl_conf_command", "stream_proxy_module", "stream", S_SS, [2]),
  ...rows("proxy_ssl_certificate_cache", "stream_proxy_module", "stream", S_SS, [1, 2, 3], { unique }),

  // stream_ssl_module, stream_ssl_preread_module
  ...rows("ssl_handshake_timeout ssl_session_timeout", "stream_ssl_module", "stream", S_SS, [1], {
    unique,
    value: "time",
    support: runs,
  }),
  ...rows(SSL_FLAGS_RUN, "stream_ssl_module", "stream", S_SS, "flag", { unique, support: runs }),
  ...rows(SSL_FLAGS_REFUSED, "stream_ssl_module", "stream", S_SS, "flag", { unique }),
  ...rows(SSL_TAKE1_RUN, "stream_ssl_module", "stream", S_SS, [1], { unique, support: runs }),
  ...rows(SSL_PATHS, "stream_ssl_module", "stream", S_SS, [1], { unique, support: runs, path: true }),
  ...rows(SSL_TAKE1_REFUSED, "stream_ssl_module", "stream", S_SS, [1], { unique }),
  ...rows("ssl_certificate ssl_certificate_key ssl_password_file", "stream_ssl_module", "stream", S_SS, [1], {
    support: runs,
    path: true,
  }),
  ...rows("ssl_session_ticket_key", "stream_ssl_module", "stream", S_SS, [1], { support: runs, path: true }),
  ...rows("ssl_protocols ssl_alpn", "stream_ssl_module", "stream", S_SS, "1more", { unique, support: runs }),
  ...rows("ssl_conf_command", "stream_ssl_module", "stream", S_SS, [2]),
  ...rows("ssl_session_cache", "stream_ssl_module", "stream", S_SS, [1, 2], { unique, support: runs }),
  ...rows("ssl_certificate_cache", "stream_ssl_module", "stream", S_SS, [1, 2, 3], { unique }),

  // stream_upstream_module and the balancing methods' modules
  ...rows("upstream", "stream_upstream_module", "stream", S, [1], { block, support: runs }),
  ...rows("server", "stream_upstream_module", "stream", SU, "1more", { support: runs }),
  // NGINX Plus's: the upstream's servers live in this file (the admin API writes it).
  ...rows("state", "stream_upstream_module", "stream", SU, [1], { unique, support: runs, path: true }),
  ...rows("zone", "stream_upstream_zone_module", "stream", SU, [1, 2], { unique, support: runs }),
  ...rows("hash", "stream_upstream_hash_module", "stream", SU, [1, 2, 3], { support: runs }),
  ...rows("least_conn", "stream_upstream_least_conn_module", "stream", SU, [0], { support: runs }),
  ...rows("random", "stream_upstream_random_module", "stream", SU, [0, 1, 2], { support: runs }),
  ...rows("least_time", "stream_upstream_least_time_module", "stream", SU, [1, 2]),

  // stream_log_module, stream_access_module, stream_limit_conn_module, stream_realip_module
  ...rows("access_log", "stream_log_module", "stream", S_SS, "1more", { quietWhen: ["off"], support: runs, path: true }),
  ...rows("log_format", "stream_log_module", "stream", S, "2more", { support: runs }),
  ...rows("open_log_file_cache", "stream_log_module", "stream", S_SS, [1, 2, 3, 4], {
    unique,
    support: harmless("a cache of open log file descriptors"),
  }),
  ...rows("allow deny", "stream_access_module", "stream", S_SS, [1], { support: runs }),
  ...rows("limit_conn", "stream_limit_conn_module", "stream", S_SS, [2], { support: runs }),
  ...rows("limit_conn_zone", "stream_limit_conn_module", "stream", S, [2], { support: runs }),
  ...rows("limit_conn_dry_run", "stream_limit_conn_module", "stream", S_SS, "flag", { unique, support: runs }),
  ...rows("limit_conn_log_level", "stream_limit_conn_module", "stream", S_SS, [1], { unique, support: runs }),
  ...rows("set_real_ip_from", "stream_realip_module", "stream", S_SS, [1], { support: runs }),

  // variables and routing
  ...rows("map", "stream_map_module", "stream", S, [2], { block, support: runs }),
  ...rows("map_hash_max_size map_hash_bucket_size", "stream_map_module", "stream", S, [1], {
    unique,
    value: "number",
    support: HASH_HINT,
  }),
  ...rows("geo", "stream_geo_module", "stream", S, [1, 2], { block, support: runs }),
  ...rows("split_clients", "stream_split_clients_module", "stream", S, [2], { block, support: runs }),
  ...rows("return", "stream_return_module", "stream", SS, [1], { unique, support: runs }),
  ...rows("pass", "stream_pass_module", "stream", SS, [1], { unique, support: runs }),
  ...rows("set", "stream_set_module", "stream", SS, [2], { support: runs }),
  ...rows("geoip_country geoip_city geoip_org", "stream_geoip_module", "stream", S, [1, 2], { unique }),

  // njs
  ...rows("js_access js_preread js_filter", "stream_js_module", "stream", S_SS, [1], { unique }),
  ...rows("js_set", "stream_js_module", "stream", S_SS, [2, 3]),
  ...rows("js_var", "stream_js_module", "stream", S_SS, [1, 2]),
  ...rows("js_import", "stream_js_module", "stream", S_SS, [1, 3]),
  ...rows("js_path js_include", "stream_js_module", "stream", S, [1]),
  ...rows("js_shared_dict_zone", "stream_js_module", "stream", S, "1more"),

  // NGINX Plus's: active health checks, keyval, zone_sync, status zones
  ...rows("health_check", "stream_upstream_hc_module", "stream", SS, "any", { support: runs }),
  ...rows("health_check_timeout", "stream_upstream_hc_module", "stream", S_SS, [1], { unique, value: "time", support: runs }),
  ...rows("match", "stream_upstream_hc_module", "stream", S, [1], { block, support: runs }),
  ...rows("send", "stream_upstream_hc_module", "stream", ["stream_match"], [1], { unique, support: runs }),
  ...rows("expect", "stream_upstream_hc_module", "stream", ["stream_match"], [1, 2], { unique, support: runs }),
  ...rows("keyval_zone", "stream_keyval_module", "stream", S, "1more"),
  ...rows("keyval", "stream_keyval_module", "stream", S, [3]),
  ...rows("zone_sync", "stream_zone_sync_module", "stream", SS, [0]),
  ...rows("status_zone", "stream_status_zone", "stream", SS, [1], {
    unique,
    support: harmless("NGINX Plus's statistics name for the server"),
  }),

  // The upstream check module's `check` (yaoweibin's, as its stream port spells it).
  ...rows("check", "stream_upstream_check_module", "stream", SU, "1more", { support: runs }),
  ...rows("check_http_expect_alive", "stream_upstream_check_module", "stream", SU, "1more", { support: HTTP_CHECK_ONLY }),
  ...rows("check_http_send", "stream_upstream_check_module", "stream", SU, [1], { support: HTTP_CHECK_ONLY }),
];
