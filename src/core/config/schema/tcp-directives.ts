// The directive table's rows for yaoweibin's tcp{} module (nginx_tcp_proxy_module) and the
// names of common http{} directives: known to nginx, so one misplaced into stream{} is "not
// allowed here", as nginx says, rather than "unknown".
import { type DirectiveRow, rows, T, T_TS, TS, TU } from "./directive.ts";
import { PROXY_ROWS } from "./proxy.ts";
import { HTTP_CHECK_ONLY, RESOLVER_ONLY } from "./stream-directives.ts";

const unique = true;
const block = true;
const runs = "runs";

/** The stream settings tcp{} spells its own way (`timeout`, `proxy_buffer`), with their rows. */
const TCP_SETTINGS = PROXY_ROWS.filter((r) => r.tcp);
const tcpSetting = (name: string) => TCP_SETTINGS.find((r) => r.tcp!.name === name) ?? null;

/** A tcp{} row for a directive that sets a stream setting: it runs, through the setting's row. */
function tcpSettingRows(names: string, args: "flag" | [1], value: "time" | "size" | null): DirectiveRow[] {
  return names.split(" ").flatMap((name) => {
    const setting = tcpSetting(name);
    return rows(name, "tcp", "tcp", T_TS, args, { unique, value, ...(setting && { support: runs, setting }) });
  });
}

export const TCP_DIRECTIVES: readonly DirectiveRow[] = [
  ...rows("upstream", "tcp", "tcp", T, [1], { block, support: runs }),
  ...rows("server", "tcp", "tcp", T, [0], { block, support: runs }),
  ...rows("server", "tcp", "tcp", TU, "1more", { support: runs }),
  ...rows("listen", "tcp", "tcp", TS, "1more", { support: runs }),
  ...rows("server_names", "tcp", "tcp", TS, "1more"),
  ...rows("location", "tcp", "tcp", TS, [1], { block }),
  ...rows("protocol", "tcp", "tcp", TS, [1]),
  ...rows("proxy_pass", "tcp", "tcp", TS, [1], { unique, support: runs }),
  ...tcpSettingRows("so_keepalive tcp_nodelay", "flag", null),
  ...tcpSettingRows("timeout proxy_connect_timeout proxy_read_timeout proxy_send_timeout", [1], "time"),
  ...rows("resolver_timeout", "tcp", "tcp", T_TS, [1], { unique, value: "time", support: RESOLVER_ONLY }),
  ...tcpSettingRows("proxy_buffer", [1], "size"),
  ...rows("server_name", "tcp", "tcp", T_TS, [1], { unique }),
  ...rows("resolver", "tcp", "tcp", T_TS, "1more", { unique }),
  ...rows("allow deny", "tcp", "tcp", T_TS, [1], { support: runs }),
  ...rows("access_log", "tcp", "tcp", T_TS, [1, 2], { quietWhen: ["off"] }),
  ...rows("check_shm_size", "tcp", "tcp", T, [1], {
    value: "size",
    support: { harmless: "streamlb keeps health-check state in its own memory" },
  }),
  ...rows("check", "tcp", "tcp", TU, "1more", { support: runs }),
  ...rows("check_http_expect_alive", "tcp", "tcp", TU, "1more", { support: HTTP_CHECK_ONLY }),
  ...rows("check_smtp_expect_alive", "tcp", "tcp", TU, "1more"),
  ...rows("check_http_send", "tcp", "tcp", TU, [1], { support: HTTP_CHECK_ONLY }),
  ...rows("check_smtp_send", "tcp", "tcp", TU, [1]),
  // ip_hash runs as `hash $remote_addr`, with a warning that says so.
  ...rows("ip_hash", "tcp", "tcp", TU, [0], { support: runs }),
  ...rows("busyness", "tcp", "tcp", TU, [0]),
];

/** http{}'s own names: never allowed where streamlb reads (no context). */
export const HTTP_NAMES: readonly DirectiveRow[] = rows(
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
  "http",
  [],
  "any",
);
