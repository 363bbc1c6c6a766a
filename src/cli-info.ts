// What -v, -V and -h print (nginx prints these to stderr, and so does streamlb).
import { configureArguments, streamModules } from "./core/config/schema/modules.ts";
import { DIRECTIVES } from "./core/config/schema/table.ts";
import type { Runtime } from "./core/runtime.ts";
import { NGINX_COMPATIBLE, VERSION } from "./version.ts";

export const USAGE = `Usage: streamlb [-?hvVtTq] [-s signal] [-p prefix]
                [-e filename] [-c filename] [-g directives]
       streamlb demo
       streamlb convert FILE [--to yaml|nginx]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version, runtime and configure options then exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to the running instance: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: the config file's directory, or the
                  current directory with the embedded config); relative pid and
                  log paths resolve against it
  -e filename   : set error log file (default: stderr); "stderr" is stderr
  -c filename   : set configuration file (default: the embedded default config)
  -g directives : set global directives out of configuration file (nginx configs)

Commands:
  demo          : start two chat servers on 127.0.0.1:6000 and :6002 and the balancer on
                  :8000 (the embedded default); then run \`nc 127.0.0.1 8000\` twice
  convert       : print FILE (an nginx.conf or a streamlb YAML config) in the other
                  spelling, or in the one --to names
`;

export function versionLine(): string {
  return `streamlb version: streamlb/${VERSION}\n`;
}

/**
 * -V: streamlb's own version first; then nginx's version line, which tools such as nginx's
 * test harness read (`nginx version: nginx/X`), naming the nginx whose stream module
 * streamlb follows and marked as streamlb's; then the runtime and the configure arguments
 * of an nginx built with exactly the modules streamlb implements on this runtime. The TLS
 * lines name the runtime's own library as nginx names its own (`built with OpenSSL 3.0.19`),
 * and claim SNI only where a server can read it: nginx's harness skips tests by them.
 */
export function configureText(runtime: Runtime): string {
  const tls = runtime.tls;
  const modules = streamModules(DIRECTIVES, { tls: tls !== undefined });
  return (
    versionLine() +
    `nginx version: nginx/${NGINX_COMPATIBLE} (compatible; streamlb/${VERSION})\n` +
    `runtime: ${runtime.name} ${runtime.version}\n` +
    (tls ? `built with ${tls.library}\n` : "") +
    (tls?.sni ? `TLS SNI support enabled\n` : "") +
    `configure arguments: ${configureArguments(modules)}\n`
  );
}
