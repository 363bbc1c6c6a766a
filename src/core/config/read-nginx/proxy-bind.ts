// `proxy_bind ADDRESS | off` (ngx_stream_proxy_bind), as nginx reads it: a complex value;
// a literal must be an address. `transparent` needs IP_TRANSPARENT, which no runtime streamlb
// runs on can set: refused, never ignored.
import { parseIPv4, parseIPv6 } from "../../variables/ip.ts";
import type { ReaderContext } from "./context.ts";
import type { NginxDirective } from "./tokenizer.ts";

/** The address (or value with variables), or "off". */
export function proxyBind(cx: ReaderContext, d: NginxDirective): string {
  const [value, param] = d.args as [string, string | undefined];
  if (param !== undefined) {
    if (param !== "transparent") cx.fail(d, `invalid parameter "${param}"`);
    cx.fail(d, `"proxy_bind ... transparent" is not supported: no runtime streamlb runs on can set IP_TRANSPARENT`);
  }
  if (value === "off") return "off";
  const problem = proxyBindProblem(value);
  if (problem) cx.fail(d, problem);
  return value;
}

/** nginx's message for a literal that is no local address; null when it is one (or has variables). */
export function proxyBindProblem(value: string): string | null {
  if (value.includes("$")) return null;
  if (localAddress(value) === null) return `invalid address "${value}"`;
  return null;
}

/** An IP (v6 with or without brackets) → the address to bind; null when it is none (a port is not taken). */
export function localAddress(text: string): string | null {
  const bare = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  if (parseIPv4(bare) !== null || parseIPv6(bare) !== null) return bare;
  return null;
}
