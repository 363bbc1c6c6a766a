// `resolver`, `resolver_timeout` and `zone` in stream{} and upstream{} (nginx 1.27.3), and
// what an upstream's `server … resolve [service=]` needs, with nginx's messages.
import type { ResolverConfig, ZoneConfig } from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";
import { parseResolver, parseZone } from "../resolver.ts";
import type { ReaderContext } from "./context.ts";
import { time } from "./values.ts";

/** Where a block's resolver settings land (stream{} or one upstream{}). */
export interface ResolverSettings {
  resolver?: ResolverConfig;
  resolverTimeoutMs?: number;
}

/** Takes `resolver` or `resolver_timeout` into `into`; false for any other directive. */
export function resolverSetting(cx: ReaderContext, d: NginxDirective, into: ResolverSettings): boolean {
  if (d.name === "resolver_timeout") {
    into.resolverTimeoutMs = time(cx, d, "ms");
    return true;
  }
  if (d.name !== "resolver") return false;
  const r = parseResolver(d.args, cx.loc(d));
  if (typeof r === "string") cx.fail(d, r);
  into.resolver = r;
  return true;
}

export function zoneDirective(cx: ReaderContext, d: NginxDirective): ZoneConfig {
  const z = parseZone(d.args);
  if (typeof z === "string") cx.fail(d, z);
  return z;
}
