// `health_check:` under a YAML upstream: NGINX Plus's health_check parameters and its match
// block's send/expect in one mapping, with Plus's defaults.
//   health_check: { interval: 5s, timeout: 1s, fails: 1, passes: 1, port: 7000, jitter: 1s,
//                   mandatory: true, persistent: true, send: "PING\r\n", expect: "PONG" }
//   health_check: { udp: true }   (Plus's `health_check udp`: a datagram, no ICMP error = up)
//   expect: { regex: "^PONG", ignore_case: true }
import { isMap, isScalar, type Node } from "yaml";
import { decodeMatchText, regexError } from "../values/match-text.ts";
import { DEFAULT_HEALTH_CHECK, type HealthCheckConfig, type HealthExpect } from "../model.ts";
import type { YamlWalker } from "./walker.ts";

const KEYS = ["interval", "timeout", "jitter", "fails", "passes", "port", "mandatory", "persistent", "udp", "send", "expect"];

/** `health_check: true` (or `{}`) is a TCP connect check with every default; `false` is none. */
export function yamlHealthCheck(w: YamlWalker, node: Node | null, upstream: string): HealthCheckConfig | null {
  const what = `health_check of ${upstream}`;
  if (isScalar(node) && typeof node.value === "boolean") return node.value ? DEFAULT_HEALTH_CHECK : null;
  const e = w.entries(node, what, KEYS);
  const get = (k: string) => e.get(k)?.value ?? null;
  const d = DEFAULT_HEALTH_CHECK;
  const positiveTime = (k: string, fallback: number) => {
    if (!e.has(k)) return fallback;
    const ms = w.time(get(k), `${what}: ${k}`, "ms");
    if (ms === 0) w.fail(get(k), `invalid ${what}: ${k} must be more than 0`);
    return ms;
  };
  const mandatory = e.has("mandatory") ? w.flag(get("mandatory"), `${what}: mandatory`) : d.mandatory;
  const persistent = e.has("persistent") ? w.flag(get("persistent"), `${what}: persistent`) : d.persistent;
  if (persistent && !mandatory) {
    w.fail(get("persistent"), `${what}: persistent needs mandatory: true (NGINX Plus's "mandatory persistent")`);
  }
  const send = e.has("send") ? decodeMatchText(w.string(get("send"), `${what}: send`)) : "";
  return {
    intervalMs: positiveTime("interval", d.intervalMs),
    jitterMs: e.has("jitter") ? w.time(get("jitter"), `${what}: jitter`, "ms") : d.jitterMs,
    timeoutMs: positiveTime("timeout", d.timeoutMs),
    fails: e.has("fails") ? w.int(get("fails"), `${what}: fails`, 1) : d.fails,
    passes: e.has("passes") ? w.int(get("passes"), `${what}: passes`, 1) : d.passes,
    port: e.has("port") ? w.int(get("port"), `${what}: port`, 1, 65535) : d.port,
    mandatory,
    persistent,
    udp: e.has("udp") ? w.flag(get("udp"), `${what}: udp`) : d.udp,
    send: send === "" ? null : send,
    expect: e.has("expect") ? expect(w, get("expect"), what) : d.expect,
  };
}

/** `expect: "PONG"` (bytes the reply contains) or `expect: { regex: "^PONG", ignore_case: true }`. */
function expect(w: YamlWalker, node: Node | null, what: string): HealthExpect | null {
  if (!isMap(node)) {
    const bytes = decodeMatchText(w.string(node, `${what}: expect`));
    return bytes === "" ? null : { kind: "bytes", bytes };
  }
  const e = w.entries(node, `${what}: expect`, ["regex", "ignore_case"]);
  const regexNode = e.get("regex")?.value ?? null;
  if (!regexNode) w.fail(node, `${what}: expect needs a regex (or is a plain string)`);
  const pattern = w.string(regexNode, `${what}: expect regex`);
  const problem = regexError(pattern);
  if (problem) w.fail(regexNode, `invalid ${what}: expect regex "${pattern}": ${problem}`);
  const caseless = e.has("ignore_case") ? w.flag(e.get("ignore_case")!.value, `${what}: ignore_case`) : false;
  return { kind: "regex", pattern, caseless };
}
