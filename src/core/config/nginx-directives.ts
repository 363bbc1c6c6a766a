// Which directives exist, where they may appear, and how many arguments they take: the
// command tables of the nginx modules a stream-only nginx.conf meets (core, events, stream
// and its modules, NGINX Plus's stream extras, yaoweibin's tcp module), plus the names of
// common http directives so that one misplaced into stream{} is "not allowed here", as nginx
// says, rather than "unknown".

import { MAIN_ROWS } from "./schema/main.ts";
import { PROXY_ROWS } from "./schema/proxy.ts";
import type { NginxValueCheck } from "./values/kinds.ts";

export type Context =
  | "main"
  | "events"
  | "stream"
  | "stream_server"
  | "stream_upstream"
  | "stream_match"
  | "tcp"
  | "tcp_server"
  | "tcp_upstream";

/** Which module family a directive comes from; tcp{} (yaoweibin) and stream{} never mix. */
export type Family = "core" | "stream" | "tcp" | "http";

/**
 * nginx's argument rules: an exact count from the list (NGX_CONF_NOARGS, TAKE1..TAKE7 and
 * their unions), FLAG (one on/off), 1MORE, 2MORE or ANY.
 */
export type ArgRule = readonly number[] | "flag" | "1more" | "2more" | "any";

/** How the single argument of a directive is validated before any setter sees it. */
export type ValueKind = NonNullable<NginxValueCheck>;

export interface DirectiveSpec {
  readonly name: string;
  readonly family: Family;
  readonly contexts: readonly Context[];
  readonly args: ArgRule;
  readonly block: boolean;
  /** A second one in the same block is `"x" directive is duplicate` (nginx's slot setters). */
  readonly unique: boolean;
  /** Directives that share one setting count as one for `unique` (proxy_buffer_size's aliases). */
  readonly slot: string;
  readonly value: ValueKind | null;
  /** streamlb already behaves so with these arguments: accepting them needs no warning. */
  readonly quietWhen: readonly string[];
}

interface Options {
  block?: boolean;
  unique?: boolean;
  slot?: string;
  value?: ValueKind | null;
  quietWhen?: readonly string[];
}

const SPECS = new Map<string, DirectiveSpec[]>();

function def(names: string, family: Family, contexts: readonly Context[], args: ArgRule, o: Options = {}): void {
  for (const name of names.trim().split(/\s+/)) {
    const spec: DirectiveSpec = {
      name,
      family,
      contexts,
      args,
      block: o.block ?? false,
      unique: o.unique ?? false,
      slot: o.slot ?? name,
      value: o.value ?? null,
      quietWhen: o.quietWhen ?? [],
    };
    const list = SPECS.get(name);
    if (list) list.push(spec);
    else SPECS.set(name, [spec]);
  }
}

const M: Context[] = ["main"];
const E: Context[] = ["events"];
const S: Context[] = ["stream"];
const SS: Context[] = ["stream_server"];
const SU: Context[] = ["stream_upstream"];
const S_SS: Context[] = ["stream", "stream_server"];
const T: Context[] = ["tcp"];
const TS: Context[] = ["tcp_server"];
const TU: Context[] = ["tcp_upstream"];
const T_TS: Context[] = ["tcp", "tcp_server"];
const ALL: Context[] = [
  "main",
  "events",
  "stream",
  "stream_server",
  "stream_upstream",
  "stream_match",
  "tcp",
  "tcp_server",
  "tcp_upstream",
];
const unique = true;
const block = true;

// --- core (main context) ---
def("include", "core", ALL, [1]);
// The settings of the schema's rows (worker_processes, pid, worker_shutdown_timeout, streamlb's
// own shutdown_grace; worker_connections) come from the rows themselves.
for (const r of MAIN_ROWS) {
  def(r.name, "core", r.context === "main" ? M : E, r.kind.flag ? "flag" : [1], { unique, value: r.kind.nginxCheck });
}
def("user", "core", M, [1, 2], { unique });
def("timer_resolution", "core", M, [1], { unique, value: "time" });
def("error_log", "core", [...M, ...S_SS], "1more");
def("worker_rlimit_nofile", "core", M, [1], { unique, value: "number" });
def("worker_rlimit_core worker_priority lock_file working_directory ssl_engine debug_points", "core", M, [1], {
  unique,
});
def("load_module", "core", M, [1]);
// streamlb's own: the status, metrics and runtime API endpoint.
def("admin", "core", M, [1, 2, 3], { unique }); // ADDRESS [token=T] [insecure]
// streamlb never daemonizes: `daemon off` is what it does anyway.
def("daemon", "core", M, "flag", { unique, quietWhen: ["off"] });
def("master_process", "core", M, "flag", { unique });
def("pcre_jit quic_bpf", "core", M, "flag", { unique });
def("env google_perftools_profiles", "core", M, [1]);
def("thread_pool", "core", M, [2, 3]);
def("worker_cpu_affinity", "core", M, "1more", { unique });
def("events", "core", M, [0], { block, unique });
def("http", "http", M, [0], { block, unique });
def("mail", "core", M, [0], { block, unique });
def("stream", "stream", M, [0], { block, unique });
def("tcp", "tcp", M, [0], { block, unique });

// --- events ---
def("worker_aio_requests", "core", E, [1], { unique, value: "number" });
def("use", "core", E, [1], { unique });
def("multi_accept accept_mutex", "core", E, "flag", { unique });
def("accept_mutex_delay", "core", E, [1], { unique, value: "time" });
def("debug_connection", "core", E, [1]);

// --- stream{} ---
def("upstream", "stream", S, [1], { block });
def("server", "stream", S, [0], { block });
def("server", "stream", SU, "1more");
def("listen", "stream", SS, "1more");
def("proxy_pass", "stream", SS, [1], { unique });
for (const r of PROXY_ROWS) {
  // A deprecated name sets the same slot: both in one block are a duplicate.
  const options = { unique, slot: r.name, value: r.kind.nginxCheck };
  def([r.name, ...(r.deprecated ?? [])].join(" "), "stream", S_SS, r.kind.flag ? "flag" : [1], options);
}
def("proxy_bind", "stream", S_SS, [1, 2], { unique });
def("proxy_protocol", "stream", S_SS, [1], { unique, quietWhen: ["off"] });
def("proxy_socket_rcvbuf proxy_socket_sndbuf preread_buffer_size", "stream", S_SS, [1], { unique, value: "size" });
def(
  "preread_timeout proxy_protocol_timeout ssl_handshake_timeout ssl_session_timeout health_check_timeout",
  "stream",
  S_SS,
  [1],
  {
    unique,
    value: "time",
  },
);
def("proxy_ssl", "stream", S_SS, "flag", { unique, quietWhen: ["off"] });
def("ssl_preread", "stream", S_SS, "flag", { unique, quietWhen: ["off"] });
def(
  "proxy_ssl_session_reuse proxy_ssl_server_name proxy_ssl_verify ssl_prefer_server_ciphers ssl_session_tickets ssl_reject_handshake limit_conn_dry_run ssl_stapling ssl_stapling_verify ssl_ocsp_cache",
  "stream",
  S_SS,
  "flag",
  { unique },
);
def(
  "proxy_ssl_ciphers proxy_ssl_name proxy_ssl_verify_depth proxy_ssl_trusted_certificate proxy_ssl_crl proxy_ssl_password_file ssl_dhparam ssl_ecdh_curve ssl_ciphers ssl_verify_client ssl_verify_depth ssl_client_certificate ssl_trusted_certificate ssl_crl ssl_ocsp ssl_ocsp_responder ssl_stapling_file ssl_stapling_responder ssl_key_log limit_conn_log_level",
  "stream",
  S_SS,
  [1],
  { unique },
);
def(
  "proxy_ssl_certificate proxy_ssl_certificate_key ssl_certificate ssl_certificate_key ssl_password_file ssl_session_ticket_key",
  "stream",
  S_SS,
  [1],
);
def("proxy_ssl_protocols ssl_protocols ssl_alpn proxy_ssl_alpn", "stream", S_SS, "1more", { unique });
def("proxy_ssl_conf_command ssl_conf_command", "stream", S_SS, [2]);
def("ssl_session_cache", "stream", S_SS, [1, 2], { unique });
def("ssl_certificate_cache proxy_ssl_certificate_cache", "stream", S_SS, [1, 2, 3], { unique });
def("resolver", "stream", [...S_SS, ...SU], "1more", { unique });
def("resolver_timeout", "stream", [...S_SS, ...SU], [1], { unique, value: "time" });
def("allow deny set_real_ip_from", "stream", S_SS, [1]);
def("limit_conn", "stream", S_SS, [2]);
def("access_log", "stream", S_SS, "1more", { quietWhen: ["off"] });
def("open_log_file_cache", "stream", S_SS, [1, 2, 3, 4], { unique });
def("js_access js_preread js_filter", "stream", S_SS, [1], { unique });
def("js_set", "stream", S_SS, [2, 3]);
def("js_var", "stream", S_SS, [1, 2]);
def("js_import", "stream", S_SS, [1, 3]);
def("js_path js_include", "stream", S, [1]);
def("js_shared_dict_zone", "stream", S, "1more");
def("log_format", "stream", S, "2more");
def("limit_conn_zone", "stream", S, [2]);
def("map", "stream", S, [2], { block });
def("geo", "stream", S, [1, 2], { block });
def("split_clients", "stream", S, [2], { block });
def("match", "stream", S, [1], { block });
def("send", "stream", ["stream_match"], [1], { unique });
def("expect", "stream", ["stream_match"], [1, 2], { unique });
def("keyval_zone", "stream", S, "1more");
def("keyval", "stream", S, [3]);
def("geoip_country geoip_city geoip_org", "stream", S, [1, 2], { unique });
def(
  "variables_hash_max_size variables_hash_bucket_size server_names_hash_max_size server_names_hash_bucket_size map_hash_max_size map_hash_bucket_size",
  "stream",
  S,
  [1],
  { unique, value: "number" },
);
def("server_name", "stream", SS, "1more");
def("return pass status_zone", "stream", SS, [1], { unique });
def("set", "stream", SS, [2]);
def("health_check", "stream", SS, "any");
def("zone_sync", "stream", SS, [0]);
def("zone", "stream", SU, [1, 2], { unique });
def("state", "stream", SU, [1], { unique });
def("hash", "stream", SU, [1, 2]);
def("least_conn", "stream", SU, [0]);
def("random", "stream", SU, [0, 1, 2]);
def("least_time", "stream", SU, [1, 2]);
// The check module's `check` (yaoweibin's, as its stream port spells it in stream upstreams).
def("check check_http_expect_alive", "stream", SU, "1more");
def("check_http_send", "stream", SU, [1]);

// --- tcp{} (yaoweibin/nginx_tcp_proxy_module) ---
def("upstream", "tcp", T, [1], { block });
def("server", "tcp", T, [0], { block });
def("server", "tcp", TU, "1more");
def("listen server_names", "tcp", TS, "1more");
def("location", "tcp", TS, [1], { block });
def("protocol", "tcp", TS, [1]);
def("proxy_pass", "tcp", TS, [1], { unique });
def("so_keepalive tcp_nodelay", "tcp", T_TS, "flag", { unique });
def("timeout proxy_connect_timeout proxy_read_timeout proxy_send_timeout resolver_timeout", "tcp", T_TS, [1], {
  unique,
  value: "time",
});
def("proxy_buffer", "tcp", T_TS, [1], { unique, value: "size" });
def("server_name", "tcp", T_TS, [1], { unique });
def("resolver", "tcp", T_TS, "1more", { unique });
def("allow deny", "tcp", T_TS, [1]);
def("access_log", "tcp", T_TS, [1, 2], { quietWhen: ["off"] });
def("check_shm_size", "tcp", T, [1], { value: "size" });
def("check check_http_expect_alive check_smtp_expect_alive", "tcp", TU, "1more");
def("check_http_send check_smtp_send", "tcp", TU, [1]);
def("ip_hash busyness", "tcp", TU, [0]);

// --- http{} names: known to nginx, never allowed where streamlb reads ---
def(
  `location root alias index try_files autoindex internal default_type types types_hash_max_size
   types_hash_bucket_size sendfile tcp_nopush keepalive_timeout keepalive_requests keepalive_time keepalive
   client_max_body_size client_body_timeout client_header_timeout client_body_buffer_size
   client_header_buffer_size large_client_header_buffers send_timeout server_tokens charset error_page
   rewrite if break limit_req limit_req_zone limit_rate limit_rate_after auth_basic auth_basic_user_file
   add_header expires gzip gzip_types gzip_vary gzip_proxied gzip_comp_level gzip_min_length gzip_disable
   gzip_buffers gzip_http_version proxy_set_header proxy_redirect proxy_http_version proxy_read_timeout
   proxy_send_timeout proxy_cache proxy_cache_path proxy_cache_valid proxy_buffering proxy_buffers
   proxy_busy_buffers_size proxy_hide_header proxy_pass_header proxy_intercept_errors
   proxy_set_body proxy_cookie_domain proxy_cookie_path fastcgi_pass fastcgi_param fastcgi_index
   fastcgi_read_timeout uwsgi_pass uwsgi_param scgi_pass grpc_pass memcached_pass real_ip_header
   real_ip_recursive sub_filter stub_status open_file_cache log_not_found http2 ip_hash sticky ntlm
   satisfy underscores_in_headers ignore_invalid_headers merge_slashes reset_timedout_connection
   server_name_in_redirect absolute_redirect port_in_redirect etag if_modified_since postpone_output
   output_buffers directio aio chunked_transfer_encoding ssl_buffer_size ssl_early_data http3 quic_retry
   add_trailer userid secure_link dav_methods mp4 flv image_filter xslt_stylesheet perl ssi`,
  "http",
  [],
  "any",
);

/** The specs of every directive named `name`, across families. */
export function directiveSpecs(name: string): readonly DirectiveSpec[] {
  return SPECS.get(name) ?? [];
}

/** Every directive of the table, for tests that walk it. */
export function allDirectiveSpecs(): readonly DirectiveSpec[] {
  return [...SPECS.values()].flat();
}

/** Families whose names count as known in a context (for "not allowed here" vs "unknown"). */
export function knownFamilies(ctx: Context): readonly Family[] {
  return ctx.startsWith("tcp") ? ["core", "tcp", "http"] : ["core", "stream", "http"];
}
