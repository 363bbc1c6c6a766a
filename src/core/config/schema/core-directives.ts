// The directive table's rows for nginx's core and events modules (the main and events{}
// contexts), the block directives that open the other modules, and streamlb's own main
// directives. The settings among them (worker_processes, pid, …) take their setting rows
// from main.ts.
import { ALL, type DirectiveRow, E, M, rows, settingRows } from "./directive.ts";
import { MAIN_ROWS } from "./main.ts";

const unique = true;
const block = true;
const runs = "runs";
const harmless = (why: string) => ({ harmless: why });

const ACCEPT_TURNS = "how workers take turns accepting (streamlb's workers use SO_REUSEPORT)";

export const CORE_DIRECTIVES: readonly DirectiveRow[] = [
  ...rows("include", "core", "core", ALL, [1], { support: runs }),
  ...MAIN_ROWS.flatMap((r) =>
    settingRows(r.name, r.own ? "streamlb" : r.context === "main" ? "core" : "events", "core", r.context === "main" ? M : E, r, {
      path: r.name === "pid",
    })
  ),
  ...rows("user", "core", "core", M, [1, 2], {
    unique,
    support: harmless("streamlb does not switch users (start it as the user it should run as)"),
  }),
  ...rows("timer_resolution", "core", "core", M, [1], {
    unique,
    value: "time",
    support: harmless("a timing hint for nginx's event loop"),
  }),
  ...rows("error_log", "core", "core", M, "1more", { support: runs, path: true }),
  ...rows("worker_rlimit_nofile", "core", "core", M, [1], { unique, value: "number" }),
  ...rows("worker_rlimit_core", "core", "core", M, [1], { unique, support: harmless("the size of core dumps") }),
  ...rows("worker_priority", "core", "core", M, [1], { unique, support: harmless("the scheduling priority of the process") }),
  ...rows("lock_file", "core", "core", M, [1], { unique, support: harmless("nginx's accept mutex file") }),
  ...rows("working_directory", "core", "core", M, [1], { unique, support: harmless("where core dumps are written") }),
  // An OpenSSL engine for keys: the runtimes' TLS cannot load one, and a key it holds would be missing.
  ...rows("ssl_engine", "core", "core", M, [1], { unique }),
  ...rows("debug_points", "core", "core", M, [1], { unique, support: harmless("what nginx does on an internal error") }),
  ...rows("load_module", "core", "core", M, [1], {
    support: harmless("the stream module is part of streamlb, and it loads no nginx modules"),
  }),
  // streamlb's own: the status, metrics and runtime API endpoint. ADDRESS [token=T] [insecure]
  ...rows("admin", "streamlb", "core", M, [1, 2, 3], { unique, support: runs }),
  // streamlb never daemonizes: `daemon off` is what it does anyway.
  ...rows("daemon", "core", "core", M, "flag", {
    unique,
    quietWhen: ["off"],
    support: harmless("streamlb runs in the foreground; let the service manager daemonize it"),
  }),
  // Off: one process serves, whatever worker_processes says (nginx's single-process mode).
  ...rows("master_process", "core", "core", M, "flag", { unique, support: runs }),
  ...rows("pcre_jit", "core", "core", M, "flag", { unique, support: harmless("a regular-expression speed hint") }),
  ...rows("quic_bpf", "core", "core", M, "flag", {
    unique,
    support: harmless("QUIC routing for http/3, which a stream-only config does not use"),
  }),
  ...rows("env", "core", "core", M, [1], { support: harmless("environment variables kept for nginx's workers") }),
  ...rows("google_perftools_profiles", "google_perftools_module", "core", M, [1], { support: harmless("profiling output") }),
  ...rows("thread_pool", "core", "core", M, [2, 3], { support: harmless("nginx's file I/O threads") }),
  ...rows("worker_cpu_affinity", "core", "core", M, "1more", {
    unique,
    support: harmless("CPU pinning of worker processes"),
  }),
  ...rows("events", "events", "core", M, [0], { block, unique, support: runs }),
  ...rows("http", "http", "http", M, [0], {
    block,
    unique,
    support: harmless("streamlb proxies TCP streams only: it opens none of the http servers' ports"),
  }),
  ...rows("mail", "mail", "core", M, [0], {
    block,
    unique,
    support: harmless("streamlb proxies TCP streams only: it opens none of the mail servers' ports"),
  }),
  ...rows("stream", "stream_core_module", "stream", M, [0], { block, unique, support: runs }),
  ...rows("tcp", "tcp", "tcp", M, [0], { block, unique, support: runs }),

  // events{}
  ...rows("worker_aio_requests", "events", "core", E, [1], {
    unique,
    value: "number",
    support: harmless("nginx's file AIO queue"),
  }),
  ...rows("use", "events", "core", E, [1], { unique, support: harmless("the event method (streamlb uses its runtime's)") }),
  ...rows("multi_accept", "events", "core", E, "flag", {
    unique,
    support: harmless("how many connections one wake-up accepts"),
  }),
  ...rows("accept_mutex", "events", "core", E, "flag", { unique, support: harmless(ACCEPT_TURNS) }),
  ...rows("accept_mutex_delay", "events", "core", E, [1], { unique, value: "time", support: harmless(ACCEPT_TURNS) }),
  ...rows("debug_connection", "events", "core", E, [1], { support: harmless("debug logging for some clients") }),
];
