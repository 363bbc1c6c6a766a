// One row of the directive table, in the spirit of nginx's ngx_command_t: where a directive
// may stand and how many arguments it takes (ngx_conf_handler's checks), the module it
// belongs to (so -V can say which modules are there), what streamlb does with it (runs it,
// ignores it for a stated reason, or refuses it), and, for a setting, the setting row: its
// model field, value kind, default, YAML key, inheritance and tcp{} spelling.
import type { NginxValueCheck, ValueKind } from "../values/kinds.ts";
import type { SettingRow } from "./row.ts";

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
export type ArgCheck = NonNullable<NginxValueCheck>;

/**
 * What streamlb does with the directive. Fail closed: `harmless` only where leaving it out
 * provably changes no access decision, no resource limit and no byte on the wire, with the
 * reason as the warning says it; everything streamlb neither runs nor can ignore is refused
 * (`"x" directive is not supported yet`).
 */
export type Support = "runs" | "refused" | { readonly harmless: string };

/**
 * The module a directive belongs to: nginx's configure name for nginx's stream modules
 * (`stream_proxy_module`), else where it comes from (`core`, `events`, NGINX Plus's,
 * third-party modules, yaoweibin's `tcp`, `http` names, `streamlb`'s own).
 */
export type ModuleName = string;

/** A setting row of any model group, as the directive table holds it. */
export type AnySettingRow = SettingRow<never> & {
  /** Where a reader finds the setting and a writer puts it. */
  readonly group: "main" | "events" | "proxy";
};

export interface DirectiveRow {
  readonly name: string;
  readonly module: ModuleName;
  readonly family: Family;
  readonly contexts: readonly Context[];
  readonly args: ArgRule;
  readonly block: boolean;
  /** A second one in the same block is `"x" directive is duplicate` (nginx's slot setters). */
  readonly unique: boolean;
  /** Directives that share one setting count as one for `unique` (proxy_buffer_size's aliases). */
  readonly slot: string;
  readonly value: ArgCheck | null;
  /** streamlb already behaves so with these arguments: accepting them needs no warning. */
  readonly quietWhen: readonly string[];
  readonly support: Support;
  /** The setting the directive fills, for the directives the schema's setting rows read. */
  readonly setting: AnySettingRow | null;
  /** Names a relative path that resolves against the prefix (`-p`), as nginx's do. */
  readonly path: boolean;
}

/** Retained name: the table's rows were "specs" before they grew the other columns. */
export type DirectiveSpec = DirectiveRow;

export interface RowOptions {
  block?: boolean;
  unique?: boolean;
  slot?: string;
  value?: ArgCheck | null;
  quietWhen?: readonly string[];
  /** Default: refused. */
  support?: Support;
  setting?: AnySettingRow;
  path?: boolean;
}

/** Rows for one or more directives (space-separated names) that share every column. */
export function rows(
  names: string,
  module: ModuleName,
  family: Family,
  contexts: readonly Context[],
  args: ArgRule,
  o: RowOptions = {},
): DirectiveRow[] {
  return names.trim().split(/\s+/).map((name) => ({
    name,
    module,
    family,
    contexts,
    args,
    block: o.block ?? false,
    unique: o.unique ?? false,
    slot: o.slot ?? name,
    value: o.value ?? null,
    quietWhen: o.quietWhen ?? [],
    support: o.support ?? "refused",
    setting: o.setting ?? null,
    path: o.path ?? false,
  }));
}

/** The row of a setting directive: its argument rule and check come from the value kind. */
export function settingRows(
  names: string,
  module: ModuleName,
  family: Family,
  contexts: readonly Context[],
  setting: AnySettingRow,
  o: RowOptions = {},
): DirectiveRow[] {
  const kind = setting.kind as ValueKind<never>;
  return rows(names, module, family, contexts, kind.flag ? "flag" : [1], {
    unique: true,
    value: kind.nginxCheck,
    support: "runs",
    setting,
    ...o,
  });
}

export function harmlessReason(row: DirectiveRow): string | null {
  return typeof row.support === "object" ? row.support.harmless : null;
}

export const M: readonly Context[] = ["main"];
export const E: readonly Context[] = ["events"];
export const S: readonly Context[] = ["stream"];
export const SS: readonly Context[] = ["stream_server"];
export const SU: readonly Context[] = ["stream_upstream"];
export const S_SS: readonly Context[] = ["stream", "stream_server"];
export const T: readonly Context[] = ["tcp"];
export const TS: readonly Context[] = ["tcp_server"];
export const TU: readonly Context[] = ["tcp_upstream"];
export const T_TS: readonly Context[] = ["tcp", "tcp_server"];
export const ALL: readonly Context[] = [
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
