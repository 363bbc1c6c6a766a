// ngx_conf_handler's checks of one directive against nginx's tables (known here, `;` or `{`,
// argument count, duplicate, value), and the argument readers the setters share.
import type { NginxDirective } from "./tokenizer.ts";
import { type Context, type DirectiveSpec, directiveSpecs, knownFamilies } from "../schema/table.ts";
import { kindOf } from "../schema/row.ts";
import { parseSize, parseTime, type TimeGranularity } from "../values/units.ts";
import { atoi, type ValueKind } from "../values/kinds.ts";
import type { ReaderContext } from "./context.ts";

/** ngx_conf_handler's checks, in its order: known here, `;` or `{`, argument count, duplicate, value. */
export function check(cx: ReaderContext, d: NginxDirective, ctx: Context, seen: Set<string>): DirectiveSpec {
  const specs = directiveSpecs(d.name);
  const spec = specs.find((s) => s.contexts.includes(ctx));
  if (!spec) {
    const families = knownFamilies(ctx);
    if (specs.some((s) => families.includes(s.family))) cx.fail(d, `"${d.name}" directive is not allowed here`);
    cx.fail(d, `unknown directive "${d.name}"`);
  }
  checkShape(cx, d, spec);
  if (spec.unique) {
    if (seen.has(spec.slot)) cx.fail(d, `"${d.name}" directive is duplicate`);
    seen.add(spec.slot);
  }
  if (spec.args === "flag") flag(cx, d);
  if (d.name === "proxy_protocol" && !["on", "off", "v2"].includes(d.args[0]!.toLowerCase())) {
    // nginx 1.22's words; `v2` (1.31.4) is accepted too.
    cx.fail(d, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
  }
  switch (spec.value) {
    case "time":
      time(cx, d, "ms");
      break;
    case "time_s":
      time(cx, d, "s");
      break;
    case "size":
      size(cx, d);
      break;
    case "number":
      number(cx, d);
      break;
    case null:
      break;
  }
  return spec;
}

export function checkShape(cx: ReaderContext, d: NginxDirective, spec: DirectiveSpec): void {
  if (!spec.block && d.block !== null) cx.fail(d, `directive "${d.name}" is not terminated by ";"`);
  if (spec.block && d.block === null) cx.fail(d, `directive "${d.name}" has no opening "{"`);
  const n = d.args.length;
  const rule = spec.args;
  const valid = rule === "any" ||
    (rule === "flag" ? n === 1 : rule === "1more" ? n >= 1 : rule === "2more" ? n >= 2 : rule.includes(n));
  if (!valid) cx.fail(d, `invalid number of arguments in "${d.name}" directive`);
}

/** The single argument of a schema row's directive, through its value kind. */
export function rowValue(cx: ReaderContext, d: NginxDirective, row: { readonly kind: ValueKind<never> }): unknown {
  const word = d.args[0]!;
  const value = kindOf<unknown>(row).fromWord(word);
  if (value === null) cx.fail(d, row.kind.directiveError(d.name, word));
  return value;
}

export function time(cx: ReaderContext, d: NginxDirective, granularity: TimeGranularity): number {
  const ms = parseTime(d.args[0]!, granularity);
  if (ms === null) cx.fail(d, `"${d.name}" directive invalid value`);
  return ms;
}

export function size(cx: ReaderContext, d: NginxDirective): number {
  const bytes = parseSize(d.args[0]!);
  if (bytes === null) cx.fail(d, `"${d.name}" directive invalid value`);
  return bytes;
}

export function number(cx: ReaderContext, d: NginxDirective): number {
  const n = atoi(d.args[0]!);
  if (n === null) cx.fail(d, `"${d.name}" directive invalid number`);
  return n;
}

/** on/off in any case (ngx_strcasecmp), or nginx's error. */
export function flag(cx: ReaderContext, d: NginxDirective): boolean {
  const v = d.args[0]!.toLowerCase();
  if (v === "on") return true;
  if (v === "off") return false;
  cx.fail(d, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
}
