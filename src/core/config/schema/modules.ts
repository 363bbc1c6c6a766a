// nginx's stream modules, and which of them streamlb implements, read off the directive
// table. `-V` prints its `configure arguments:` line from this, and tools that read that line
// (nginx's own test harness decides from it which test files can run) must never be told a
// module is there when it is not.
import type { DirectiveRow } from "./directive.ts";
import { DIRECTIVES } from "./table.ts";

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

/** nginx's stream modules that configure knows, and how it builds each. */
export const STREAM_MODULE_BUILDS: ReadonlyArray<readonly [string, ModuleBuild]> = [
  ["stream_core_module", "core"],
  ["stream_proxy_module", "core"],
  ["stream_upstream_module", "core"],
  ["stream_log_module", "core"],
  ["stream_access_module", "default"],
  ["stream_upstream_hash_module", "default"],
  ["stream_upstream_least_conn_module", "default"],
  ["stream_upstream_random_module", "default"],
  ["stream_limit_conn_module", "default"],
  ["stream_geo_module", "default"],
  ["stream_map_module", "default"],
  ["stream_split_clients_module", "default"],
  ["stream_return_module", "default"],
  ["stream_set_module", "default"],
  ["stream_pass_module", "default"],
  ["stream_upstream_zone_module", "default"],
  // NGINX Plus's; nginx's test harness counts it present unless told otherwise.
  ["stream_upstream_least_time_module", "default"],
  ["stream_realip_module", "optional"],
  ["stream_ssl_module", "optional"],
  ["stream_ssl_preread_module", "optional"],
  ["stream_geoip_module", "optional"],
];

/**
 * Modules that count as there while some of their directives stay refused, because what is
 * refused is a part nginx's own builds may lack too (OCSP needs OpenSSL's OCSP support; ticket
 * keys, key logs and conf commands are OpenSSL's), and each such directive fails the config
 * naming itself rather than being taken silently.
 */
export const PARTIAL_MODULES: ReadonlySet<string> = new Set(["stream_ssl_module"]);

/** Modules built on the runtime's TLS: absent where the runtime has none. */
const TLS_MODULES: ReadonlySet<string> = new Set(["stream_ssl_module"]);

/**
 * A module is implemented when some directive of it runs and none is refused: one whose
 * directives are all refused or ignored (the ssl_preread of preread listeners) is not there,
 * and neither is one that runs only part of what it has, but for PARTIAL_MODULES. Core
 * modules cannot be left out.
 */
export function moduleImplemented(name: string, build: ModuleBuild, table: readonly DirectiveRow[]): boolean {
  if (build === "core") return true;
  const own = table.filter((r) => r.module === name);
  return own.some((r) => r.support === "runs") && (PARTIAL_MODULES.has(name) || !own.some((r) => r.support === "refused"));
}

/** The stream modules with what the table says of each, on a runtime with TLS (`tls`) or none. */
export function streamModules(table: readonly DirectiveRow[] = DIRECTIVES, runtime = { tls: true }): StreamModule[] {
  return STREAM_MODULE_BUILDS.map(([name, build]) => ({
    name,
    build,
    implemented: moduleImplemented(name, build, table) && (runtime.tls || !TLS_MODULES.has(name)),
  }));
}

export const STREAM_MODULES: readonly StreamModule[] = streamModules();

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
