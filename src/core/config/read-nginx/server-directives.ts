// The server{} and upstream{} directives whose arguments are read on their own: allow/deny,
// proxy_pass, pass, and the balancing methods.
import type { AccessRuleConfig, BalanceMethod } from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";
import { parseAccessRule } from "../../phases/access.ts";
import { realipFromError } from "../../phases/realip.ts";
import { boundFactorError, parseBoundFactor } from "../../balance/bounded-load.ts";
import { hashKeyError } from "../../balance/key.ts";
import type { ReaderContext } from "./context.ts";
import { unixPath } from "./upstream-server.ts";
import { passDirectiveProblem } from "../../pass-address.ts";
import { hasVariables } from "../../variables/complex-value.ts";

/**
 * `allow|deny ADDRESS|CIDR|unix:|all` (ngx_stream_access_rule): checked now, compiled by
 * the access phase when the config is applied.
 */
export function accessRule(cx: ReaderContext, d: NginxDirective): AccessRuleConfig {
  const address = d.args[0]!;
  const parsed = parseAccessRule(address);
  if (!parsed.ok) cx.fail(d, `invalid parameter "${address}"`);
  if (parsed.lowBits) cx.warn(d, `low address bits of ${address} are meaningless`);
  return { action: d.name === "allow" ? "allow" : "deny", address, loc: cx.loc(d) };
}

/** `set_real_ip_from ADDRESS|CIDR|unix:|NAME` (a name is looked up once read: config/host-names.ts). */
export function realipFrom(cx: ReaderContext, d: NginxDirective): string {
  const address = d.args[0]!;
  const problem = realipFromError(address);
  if (problem) cx.fail(d, problem);
  const parsed = parseAccessRule(address);
  if (parsed.ok && parsed.lowBits) cx.warn(d, `low address bits of ${address} are meaningless`);
  return address;
}

export function proxyPass(cx: ReaderContext, d: NginxDirective): string {
  const target = d.args[0]!;
  if (target.toLowerCase().startsWith("unix:")) unixPath(cx, d, target);
  return target;
}

/** `pass ADDRESS`: an address as written is judged now, as nginx does; one with variables per session. */
export function passAddress(cx: ReaderContext, d: NginxDirective): string {
  const value = d.args[0]!;
  const problem = hasVariables(value) ? null : passDirectiveProblem(value);
  if (problem) cx.fail(d, problem);
  return value;
}

/** `hash KEY [consistent [bounded=C]]`: bounded loads are streamlb's own, on top of ketama. */
function hashMethod(cx: ReaderContext, d: NginxDirective): BalanceMethod {
  const [key, b, c] = d.args;
  if (b !== undefined && b !== "consistent") {
    if (b.startsWith("bounded=")) cx.fail(d, `"bounded=" needs "consistent" before it: hash ${key} consistent ${b}`);
    cx.fail(d, `invalid parameter "${b}"`);
  }
  if (c !== undefined && !c.startsWith("bounded=")) cx.fail(d, `invalid parameter "${c}"`);
  if (hashKeyError(key!)) cx.fail(d, hashKeyError(key!)!);
  const method = { kind: "hash", key: key!, consistent: b === "consistent" } as const;
  if (c === undefined) return method;
  const bounded = parseBoundFactor(c.slice("bounded=".length));
  if (bounded === null) cx.fail(d, boundFactorError(c.slice("bounded=".length)));
  return { ...method, bounded };
}

export function balanceMethod(cx: ReaderContext, d: NginxDirective): BalanceMethod {
  const [a, b] = d.args;
  switch (d.name) {
    case "least_conn":
      return { kind: "least_conn" };
    case "hash":
      return hashMethod(cx, d);
    case "random":
      if (a !== undefined && a !== "two") cx.fail(d, `invalid parameter "${a}"`);
      if (b !== undefined && b !== "least_conn") cx.fail(d, `invalid parameter "${b}"`);
      return { kind: "random", two: a === "two", leastConn: b === "least_conn" };
    default:
      cx.warn(
        d,
        `"ip_hash" is not supported yet: "hash $remote_addr" is used instead, which keeps a client on one server, but not on the one ip_hash would pick`,
      );
      return { kind: "hash", key: "$remote_addr", consistent: false };
  }
}
