// `access:` in YAML: nginx's allow/deny lines, in order, as a list of one-key mappings
// (`- allow: 127.0.0.0/8`, `- deny: all`): first match wins, so the order is the meaning.
import type { Node } from "yaml";
import { parseAccessRule } from "../../phases/access.ts";
import { realipFromError } from "../../phases/realip.ts";
import type { AccessRuleConfig } from "../model.ts";
import type { YamlWalker } from "./walker.ts";

export function yamlAccess(w: YamlWalker, node: Node | null, what: string): AccessRuleConfig[] {
  return w.list(node, `${what} access`).map((item) => {
    const e = w.entries(item, `a rule of ${what} access`, ["allow", "deny"]);
    const [action, entry] = [...e][0] ?? w.fail(item, `a rule of ${what} access needs "allow" or "deny"`);
    if (e.size > 1) w.fail(item, `a rule of ${what} access has one of "allow" or "deny", not both`);
    const address = String(w.scalar(entry.value, action));
    const parsed = parseAccessRule(address);
    if (!parsed.ok) w.fail(entry.value, `invalid ${action} "${address}": expected an address, a CIDR, "all" or "unix:"`);
    return { action: action as "allow" | "deny", address, loc: w.loc(item) };
  });
}

/** `set_real_ip_from: [127.0.0.1, 10.0.0.0/8]` (one address may stand alone). */
export function yamlRealipFrom(w: YamlWalker, node: Node | null): string[] {
  return w.listOrOne(node).map((item) => {
    const address = String(w.scalar(item, "set_real_ip_from"));
    const problem = realipFromError(address);
    if (problem) w.fail(item, problem);
    return address;
  });
}
