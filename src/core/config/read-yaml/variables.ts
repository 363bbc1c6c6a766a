// YAML spellings of the variable directives, one to one with nginx's:
//   stream.variables: - { map: [$src, $var], lines: [[default, "0"], [key, value]] }
//                     - { geo: [$var] | [$src, $var], lines: [...] }, - { split_clients: [...] }
//   servers[].set:    { $var: value, ... }  (in order)
//   servers[].return: "text $var"
// The lines are the block's words as nginx reads them; compiled with the nginx reader's.
import type { Node } from "yaml";
import type { ConfigLine, SetConfig, VariableBlockConfig } from "../model.ts";
import type { YamlWalker } from "./walker.ts";

const KINDS = ["map", "geo", "split_clients"] as const;

export function yamlVariableBlocks(w: YamlWalker, node: Node | null): VariableBlockConfig[] {
  return w.list(node, "stream variables").map((item) => {
    const e = w.entries(item, "a block of stream variables", [...KINDS, "lines"]);
    const kinds = KINDS.filter((k) => e.has(k));
    if (kinds.length !== 1) w.fail(item, `a block of stream variables names one of map, geo or split_clients`);
    const kind = kinds[0]!;
    const argsNode = e.get(kind)!.value;
    const args = w.list(argsNode, kind).map((n) => String(w.scalar(n, kind)));
    const want = kind === "geo" ? [1, 2] : [2];
    if (!want.includes(args.length)) w.fail(argsNode, `invalid number of arguments in "${kind}" directive`);
    const lines: ConfigLine[] = e.has("lines")
      ? w.list(e.get("lines")!.value, `${kind} lines`).map((l) => ({
        args: w.list(l, `a line of ${kind}`).map((n) => String(w.scalar(n, `a line of ${kind}`))),
        loc: w.loc(l),
      }))
      : [];
    return {
      kind,
      source: args.length === 2 ? args[0]! : null,
      variable: args[args.length - 1]!,
      lines,
      loc: w.loc(item),
    };
  });
}

export function yamlSet(w: YamlWalker, node: Node | null, what: string): SetConfig[] {
  return w.namedEntries(node, `${what} set`).map(({ name, key, value }) => {
    if (name.length < 2 || !name.startsWith("$")) w.fail(key, `invalid variable name "${name}"`);
    return { variable: name, value: String(w.scalar(value, `set ${name}`)), loc: w.loc(key) };
  });
}
