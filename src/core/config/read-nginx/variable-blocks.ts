// The stream{} blocks that define variables (map, geo, split_clients) and the server{}
// directives that read them (set, return): taken as written here, compiled and checked as a
// whole once the config is read (variables/stream-variables.ts), as nginx checks variables.
import type { ConfigLine, SetConfig, VariableBlockConfig } from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";
import type { ReaderContext } from "./context.ts";
import type { Includes } from "./files.ts";

/** `map SOURCE $var {…}`, `geo [SOURCE] $var {…}`, `split_clients SOURCE $var {…}`. */
export function variableBlock(cx: ReaderContext, includes: Includes, d: NginxDirective): VariableBlockConfig {
  const kind = d.name as VariableBlockConfig["kind"];
  const variable = d.args[d.args.length - 1]!;
  const source = kind === "geo" && d.args.length === 1 ? null : d.args[0]!;
  const lines: ConfigLine[] = [];
  // The block's lines are its own grammar (KEY VALUE;), not directives: only `include` counts.
  for (const line of includes.expand(d.block!)) {
    if (line.block) cx.fail(line, `unexpected "{"`);
    lines.push({ args: [line.name, ...line.args], loc: cx.loc(line) });
  }
  return { kind, source, variable, lines, loc: cx.loc(d) };
}

/** `set $var VALUE`: the name is checked now, the value with every other complex value. */
export function setDirective(cx: ReaderContext, d: NginxDirective): SetConfig {
  const variable = d.args[0]!;
  if (variable.length < 2 || !variable.startsWith("$")) cx.fail(d, `invalid variable name "${variable}"`);
  return { variable, value: d.args[1]!, loc: cx.loc(d) };
}
