// Fail closed. streamlb accepts a directive it does not act on only when leaving it out
// provably changes no access decision, no resource limit and no byte on the wire; this file
// is that list, each entry with the reason. Every other directive streamlb does not run is
// an [emerg] ("… is not supported yet"), so a config that guards access or shapes traffic
// never runs without what guards or shapes it. When a directive gets implemented it leaves
// this list (test/unit/fail-closed.test.ts walks the directive table against it).

/** Directive name → why ignoring it changes nothing that is proxied, limited or allowed. */
export const HARMLESS_DIRECTIVES: ReadonlyMap<string, string> = new Map([
  // main
  ["user", "streamlb does not switch users (start it as the user it should run as)"],
  ["daemon", "streamlb runs in the foreground; let the service manager daemonize it"],
  ["timer_resolution", "a timing hint for nginx's event loop"],
  ["worker_rlimit_core", "the size of core dumps"],
  ["worker_priority", "the scheduling priority of the process"],
  ["lock_file", "nginx's accept mutex file"],
  ["working_directory", "where core dumps are written"],
  ["debug_points", "what nginx does on an internal error"],
  ["pcre_jit", "a regular-expression speed hint"],
  ["quic_bpf", "QUIC routing for http/3, which a stream-only config does not use"],
  ["env", "environment variables kept for nginx's workers"],
  ["google_perftools_profiles", "profiling output"],
  ["thread_pool", "nginx's file I/O threads"],
  ["worker_cpu_affinity", "CPU pinning of worker processes"],
  ["load_module", "the stream module is part of streamlb, and it loads no nginx modules"],
  ["http", "streamlb proxies TCP streams only: it opens none of the http servers' ports"],
  ["mail", "streamlb proxies TCP streams only: it opens none of the mail servers' ports"],
  // events
  ["worker_aio_requests", "nginx's file AIO queue"],
  ["use", "the event method (streamlb uses its runtime's)"],
  ["multi_accept", "how many connections one wake-up accepts"],
  ["accept_mutex", "how workers take turns accepting (streamlb's workers use SO_REUSEPORT)"],
  ["accept_mutex_delay", "how workers take turns accepting (streamlb's workers use SO_REUSEPORT)"],
  ["debug_connection", "debug logging for some clients"],
  // stream
  ["error_log", "a stream{} or server{} error log: these lines go to the main error log"],
  ["zone", "one process shares an upstream's state anyway (with several, max_conns makes it an error)"],
  ["preread_buffer_size", "no preread phase runs (ssl_preread and js_preread are refused)"],
  ["preread_timeout", "no preread phase runs (ssl_preread and js_preread are refused)"],
  ["proxy_protocol_timeout", "no listener reads a PROXY header (`listen … proxy_protocol` is refused)"],
  ["proxy_requests", "it applies to UDP sessions only, and `listen … udp` is refused"],
  ["proxy_responses", "it applies to UDP sessions only, and `listen … udp` is refused"],
  ["proxy_socket_rcvbuf", "a socket buffer size hint"],
  ["proxy_socket_sndbuf", "a socket buffer size hint"],
  ["limit_conn_dry_run", "it only changes limit_conn, which is refused"],
  ["limit_conn_log_level", "it only changes limit_conn, which is refused"],
  ["resolver_timeout", "it only changes resolver, which is refused"],
  ["open_log_file_cache", "a cache of open log file descriptors"],
  ["variables_hash_max_size", "a hash table size hint"],
  ["variables_hash_bucket_size", "a hash table size hint"],
  ["server_names_hash_max_size", "a hash table size hint"],
  ["server_names_hash_bucket_size", "a hash table size hint"],
  ["map_hash_max_size", "a hash table size hint"],
  ["map_hash_bucket_size", "a hash table size hint"],
  ["status_zone", "NGINX Plus's statistics name for the server"],
  ["check_shm_size", "streamlb keeps health-check state in its own memory"],
  // Taken when a `check type=http` uses them; without one they do nothing, in their module too.
  ["check_http_send", "without `check type=http` it does nothing"],
  ["check_http_expect_alive", "without `check type=http` it does nothing"],
]);

/** `listen` parameters streamlb accepts without acting on, and why that is safe. */
export const HARMLESS_LISTEN_PARAMS: ReadonlyMap<string, string> = new Map([
  ["bind", "streamlb binds every listen address on its own"],
  ["default_server", "streamlb has one server per address"],
  ["reuseport", "one process needs none, and streamlb's workers always use SO_REUSEPORT"],
  ["rcvbuf", "a socket buffer size hint"],
  ["sndbuf", "a socket buffer size hint"],
  ["deferred", "when the kernel wakes the process for a new client, not whether it is served"],
  ["fastopen", "clients fall back to a plain handshake and send the same bytes"],
  ["setfib", "a FreeBSD routing table; nginx on Linux has none either"],
  ["accept_filter", "a FreeBSD accept filter; nginx on Linux has none either"],
]);
