// nginx resolves a relative path in a directive against its prefix (`-p`). Which directives
// name paths is the directive table's `path` column; how each one's value sits in the model
// is here, one rewriter per such directive, so a path directive added to the table without
// one fails (test/unit/prefix-paths.test.ts) instead of staying relative.
import type { Config, ErrorLogConfig } from "./model.ts";
import { isSyslogPath } from "./values/syslog-target.ts";
import { type DirectiveRow, DIRECTIVES } from "./schema/table.ts";
import { mapTlsPath, TLS_PATH_FIELDS } from "./tls-config.ts";

type At = (path: string) => string;

/** A TLS directive's paths in every server that has TLS settings. */
const tlsPaths = (directive: string) => (c: Config, at: At): Config => ({
  ...c,
  stream: {
    ...c.stream,
    servers: c.stream.servers.map((s) => (s.tls ? { ...s, tls: mapTlsPath(s.tls, directive, at) } : s)),
  },
});

/** Per path-valued directive of the table: its value(s) in the model, resolved with `at`. */
export const PATH_REWRITERS: Readonly<Record<string, (config: Config, at: At) => Config>> = {
  pid: (c, at) => (c.pid === null ? c : { ...c, pid: at(c.pid) }),
  // Main, stream{} and server{} error logs; stderr and syslog: are no paths.
  error_log: (c, at) => {
    const file = (l: ErrorLogConfig) => (l.path === "stderr" || isSyslogPath(l.path) ? l : { ...l, path: at(l.path) });
    return {
      ...c,
      errorLog: file(c.errorLog),
      ...(c.moreErrorLogs && { moreErrorLogs: c.moreErrorLogs.map(file) }),
      stream: {
        ...c.stream,
        servers: c.stream.servers.map((s) => (s.errorLogs ? { ...s, errorLogs: s.errorLogs.map(file) } : s)),
      },
    };
  },
  access_log: (c, at) => ({
    ...c,
    stream: {
      ...c.stream,
      servers: c.stream.servers.map((s) =>
        s.accessLog.length
          ? { ...s, accessLog: s.accessLog.map((l) => (isSyslogPath(l.path) ? l : { ...l, path: at(l.path) })) }
          : s
      ),
    },
  }),
  state: (c, at) => ({
    ...c,
    stream: {
      ...c.stream,
      upstreams: new Map([...c.stream.upstreams].map(([name, u]) => [name, u.state ? { ...u, state: at(u.state) } : u])),
    },
  }),
  ...Object.fromEntries(
    ["ssl_certificate", "ssl_certificate_key", "ssl_session_ticket_key", ...Object.keys(TLS_PATH_FIELDS)].map((
      d,
    ) => [d, tlsPaths(d)]),
  ),
};

/** The names of the table's path-valued directives, each once. */
export function pathDirectives(table: readonly DirectiveRow[] = DIRECTIVES): string[] {
  return [...new Set(table.filter((r) => r.path).map((r) => r.name))];
}

/** Every relative path of the config resolved by `at` (the caller's path.resolve against the prefix). */
export function prefixPaths(config: Config, at: At, table: readonly DirectiveRow[] = DIRECTIVES): Config {
  return pathDirectives(table).reduce((c, name) => {
    const rewrite = PATH_REWRITERS[name];
    if (!rewrite) throw new Error(`the directive table's "${name}" names a path, and prefix-paths.ts cannot find it`);
    return rewrite(c, at);
  }, config);
}
