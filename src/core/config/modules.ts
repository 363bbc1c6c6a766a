// nginx's stream modules, and which of them streamlb implements. `-V` prints its
// `configure arguments:` line from this table, and tools that read that line (nginx's own
// test harness decides from it which test files can run) must never be told a module is
// there when it is not. Later this can become a column of the directive table.

/**
 * How nginx's configure treats a module: `core` ones cannot be left out; `default` ones are
 * built unless `--without-X` says otherwise; `optional` ones only with `--with-X`.
 */
export type ModuleBuild = "core" | "default" | "optional";

export interface StreamModule {
  /** configure's name, `stream_X_module` (core modules have no switch; their C name is kept). */
  readonly name: string;
  readonly build: ModuleBuild;
  readonly implemented: boolean;
}

const mod = (name: string, build: ModuleBuild, implemented: boolean): StreamModule => ({ name, build, implemented });

export const STREAM_MODULES: readonly StreamModule[] = [
  mod("stream_core_module", "core", true),
  mod("stream_proxy_module", "core", true),
  mod("stream_upstream_module", "core", true),
  mod("stream_log_module", "core", true),
  mod("stream_access_module", "default", true),
  mod("stream_upstream_hash_module", "default", true),
  mod("stream_upstream_least_conn_module", "default", true),
  mod("stream_upstream_random_module", "default", true),
  mod("stream_limit_conn_module", "default", false),
  mod("stream_geo_module", "default", false),
  mod("stream_map_module", "default", false),
  mod("stream_split_clients_module", "default", false),
  mod("stream_return_module", "default", false),
  mod("stream_set_module", "default", false),
  mod("stream_pass_module", "default", false),
  mod("stream_upstream_zone_module", "default", false),
  // NGINX Plus's; nginx's test harness counts it present unless told otherwise.
  mod("stream_upstream_least_time_module", "default", false),
  mod("stream_realip_module", "optional", false),
  // Where the runtime has TLS (cli-info.ts says so per runtime).
  mod("stream_ssl_module", "optional", true),
  mod("stream_ssl_preread_module", "optional", false),
  mod("stream_geoip_module", "optional", false),
];

/**
 * configure's arguments for a build with exactly the implemented modules: `--with-stream`,
 * no http (streamlb proxies streams only), a `--without-` for each default module that is
 * missing and a `--with-` for each optional one that is there.
 */
export function configureArguments(modules: readonly StreamModule[] = STREAM_MODULES): string {
  const args = ["--with-stream", "--without-http"];
  for (const m of modules) {
    if (m.build === "default" && !m.implemented) args.push(`--without-${m.name}`);
    if (m.build === "optional" && m.implemented) args.push(`--with-${m.name}`);
  }
  return args.join(" ");
}
