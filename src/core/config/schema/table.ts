// The directive table: every directive a stream-only nginx.conf meets, one row each (per
// module family), with every column (directive.ts). The nginx reader checks and dispatches
// through it, the writers and the YAML reader walk its setting rows, the fail-closed list and
// -V's module list are read off it, and the prefix (-p) finds the path-valued directives in it.
//
// Adding a directive is one row in its module's file (core-, stream- or tcp-directives.ts):
// `support: "runs"` once the reader acts on it (test/unit/fail-closed.test.ts holds each row's
// support to what the reader does, and -V counts a module present only when some row of it
// runs and none is refused); a setting takes `settingRows` and a setting row (main.ts,
// proxy.ts), which the YAML reader and both writers then walk; `path: true` where its value is
// a file that resolves against the prefix (prefix-paths.ts).
import { CORE_DIRECTIVES } from "./core-directives.ts";
import { type AnySettingRow, type Context, type DirectiveRow, type Family, harmlessReason } from "./directive.ts";
import type { MainRow } from "./main.ts";
import type { ProxyRow } from "./proxy.ts";

export type { Context, DirectiveRow, DirectiveSpec, Family } from "./directive.ts";
import { STREAM_DIRECTIVES } from "./stream-directives.ts";
import { HTTP_NAMES, TCP_DIRECTIVES } from "./tcp-directives.ts";

export const DIRECTIVES: readonly DirectiveRow[] = [...CORE_DIRECTIVES, ...STREAM_DIRECTIVES, ...TCP_DIRECTIVES, ...HTTP_NAMES];

const BY_NAME = new Map<string, DirectiveRow[]>();
for (const r of DIRECTIVES) {
  const list = BY_NAME.get(r.name);
  if (list) list.push(r);
  else BY_NAME.set(r.name, [r]);
}

/** The rows of every directive named `name`, across families. */
export function directiveSpecs(name: string): readonly DirectiveRow[] {
  return BY_NAME.get(name) ?? [];
}

/** Every row of the table, for tests that walk it. */
export function allDirectiveSpecs(): readonly DirectiveRow[] {
  return DIRECTIVES;
}

/** Families whose names count as known in a context (for "not allowed here" vs "unknown"). */
export function knownFamilies(ctx: Context): readonly Family[] {
  return ctx.startsWith("tcp") ? ["core", "tcp", "http"] : ["core", "stream", "http"];
}

/**
 * The fail-closed list, read off the table: directive name → why ignoring it changes nothing
 * that is proxied, limited or allowed.
 */
export const HARMLESS_DIRECTIVES: ReadonlyMap<string, string> = new Map(
  DIRECTIVES.flatMap((r) => {
    const why = harmlessReason(r);
    return why === null ? [] : [[r.name, why] as const];
  }),
);

/** The setting rows of one group, each once (aliases and tcp{} spellings share one), in table order. */
function settingsIn(group: AnySettingRow["group"]): AnySettingRow[] {
  return [...new Set(DIRECTIVES.flatMap((r) => (r.setting?.group === group ? [r.setting] : [])))];
}

/** The settings the YAML reader and both writers walk: main{}, events{}, and the proxy settings a server{} inherits. */
export const MAIN_SETTINGS = settingsIn("main") as unknown as readonly MainRow[];
export const EVENTS_SETTINGS = settingsIn("events") as unknown as readonly MainRow[];
export const PROXY_SETTINGS = settingsIn("proxy") as unknown as readonly ProxyRow[];
