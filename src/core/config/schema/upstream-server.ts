// The parameters of an upstream's `server` line, one row each: read by the nginx reader (and
// the state file), the YAML reader and the admin API, written by both writers.
import type { BalanceMethod, UpstreamServerConfig } from "../model.ts";
import { FLAG, intKind, TIME_S } from "../values/kinds.ts";
import { defaultsOf, row, type SettingRow } from "./row.ts";

export interface ServerParamRow extends SettingRow<ServerParams> {
  /** Balancing methods that refuse the parameter when it is set (nginx checks it per server). */
  readonly refusedWith: readonly BalanceMethod["kind"][];
  /** The admin API may change it on a running server. */
  readonly admin: boolean;
  /** yaoweibin's tcp{} upstreams read it as stream{} does. */
  readonly tcp: boolean;
}

type Fields = Parameters<typeof row<ServerParams, keyof ServerParams & string>>[0];
const param = (r: Fields, extra: Partial<Omit<ServerParamRow, keyof SettingRow<ServerParams>>> = {}): ServerParamRow => ({
  ...row<ServerParams, keyof ServerParams & string>(r),
  refusedWith: extra.refusedWith ?? [],
  admin: extra.admin ?? false,
  tcp: extra.tcp ?? false,
});

const NO_BACKUP: BalanceMethod["kind"][] = ["hash", "random"];

/** In the order the writers put them on a line. */
export const SERVER_PARAM_ROWS: readonly ServerParamRow[] = [
  // nginx refuses 0 and sets no cap; 2^31-1 is far past any real weight and keeps the smooth
  // weighted round robin's sums exact in a double for any number of servers a config can hold.
  param({ name: "weight", field: "weight", kind: intKind(1, 2_147_483_647), default: 1 }, { admin: true, tcp: true }),
  // 0 disables passive failure accounting.
  param({ name: "max_fails", field: "maxFails", kind: intKind(0), default: 1 }, { admin: true, tcp: true }),
  // nginx keeps fail_timeout in whole seconds.
  param({ name: "fail_timeout", field: "failTimeoutMs", kind: TIME_S, default: 10_000 }, { admin: true, tcp: true }),
  // 0 = unlimited.
  param({ name: "max_conns", field: "maxConns", kind: intKind(0), default: 0 }, { admin: true }),
  param({ name: "backup", field: "backup", kind: FLAG, default: false }, { admin: true, refusedWith: NO_BACKUP }),
  param({ name: "down", field: "down", kind: FLAG, default: false }, { admin: true }),
  // NGINX Plus's: no new sessions, live ones finish.
  param({ name: "drain", field: "drain", kind: FLAG, default: false }, { admin: true }),
  // NGINX Plus's: a server that comes back ramps its weight up over this time; refused like backup.
  param({ name: "slow_start", field: "slowStartMs", kind: TIME_S, default: 0 }, { refusedWith: NO_BACKUP }),
];

export type ServerParams = Pick<
  UpstreamServerConfig,
  "weight" | "maxFails" | "failTimeoutMs" | "maxConns" | "backup" | "down" | "drain" | "slowStartMs"
>;

export const DEFAULT_SERVER: ServerParams = defaultsOf(SERVER_PARAM_ROWS);

/** A parameter set to other than its default is refused by the method: nginx's message. */
export function refusedParam(r: ServerParamRow, method: BalanceMethod["kind"], value: unknown): boolean {
  return value !== r.default && r.refusedWith.includes(method);
}

export const SERVER_PARAM_BY_NAME: ReadonlyMap<string, ServerParamRow> = new Map(SERVER_PARAM_ROWS.map((r) => [r.name, r]));
