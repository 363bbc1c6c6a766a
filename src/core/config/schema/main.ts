// The main-context (and events{}) settings: one row each, walked by both readers and writers.
import type { Config } from "../model.ts";
import { intKind, intOrAutoKind, TEXT, TIME_MS } from "../values/kinds.ts";
import { defaultsOf, row, type SettingRow } from "./row.ts";

/** The model fields the main rows fill. */
export type MainSettings = Pick<
  Config,
  "workerProcesses" | "pid" | "workerShutdownTimeoutMs" | "shutdownGraceMs" | "workerConnections"
>;

export interface MainRow extends SettingRow<MainSettings> {
  /** nginx's context; YAML nests an events{} setting under `events:` as nginx does. */
  readonly context: "main" | "events";
  /** The directive table's setting group: the same as the context. */
  readonly group: "main" | "events";
  /** streamlb's own directive (nginx has no such command). */
  readonly own?: boolean;
  /** The nginx writer puts it first even at its default, so a reader of the file need not guess. */
  readonly alwaysInNginx?: boolean;
}

type Fields = Parameters<typeof row<MainSettings, keyof MainSettings & string>>[0];
const main = (r: Fields, extra: Omit<MainRow, keyof SettingRow<MainSettings> | "group">): MainRow => ({
  ...row<MainSettings, keyof MainSettings & string>(r),
  ...extra,
  group: extra.context,
});

/** nginx's default worker_connections. */
export const DEFAULT_WORKER_CONNECTIONS = 512;

export const MAIN_ROWS: readonly MainRow[] = [
  main({ name: "pid", field: "pid", kind: TEXT, default: null }, { context: "main" }),
  // nginx takes any count; streamlb needs at least one worker and bounds the fork.
  main(
    { name: "worker_processes", field: "workerProcesses", kind: intOrAutoKind(1, 1024), default: 1 },
    { context: "main", alwaysInNginx: true },
  ),
  main({ name: "worker_shutdown_timeout", field: "workerShutdownTimeoutMs", kind: TIME_MS, default: 0 }, { context: "main" }),
  // When set, SIGTERM drains like SIGQUIT for at most this long (containers send TERM on stop).
  main({ name: "shutdown_grace", field: "shutdownGraceMs", kind: TIME_MS, default: null }, { context: "main", own: true }),
  main(
    { name: "worker_connections", field: "workerConnections", kind: intKind(1), default: DEFAULT_WORKER_CONNECTIONS },
    { context: "events" },
  ),
];

export const DEFAULT_MAIN_SETTINGS: MainSettings = defaultsOf(MAIN_ROWS);
