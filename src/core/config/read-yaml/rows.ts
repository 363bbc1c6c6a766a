// Schema rows read from a YAML mapping: each row's key, through its value kind.
import { kindOf, type SettingRow } from "../schema/row.ts";
import type { Entries, YamlWalker } from "./walker.ts";

/** `base` with every row whose key the mapping has replaced by the value read. */
export function yamlRows<M, B extends Partial<M>>(w: YamlWalker, e: Entries, rows: readonly SettingRow<M>[], base: B): B {
  const out: Record<string, unknown> = Object.assign({}, base);
  for (const r of rows) {
    const got = e.get(r.yaml);
    if (got) out[r.field] = kindOf(r).fromYaml(w, got.value, r.yaml);
  }
  return out as B;
}
