// nginx's merge of a server{} with its stream{} (or tcp{}) block, once the block is read:
// inherited proxy settings, allow/deny, access_log and TLS, and the server's content handler.
import type { ServerConfig, SourceLoc } from "../model.ts";
import { DEFAULT_PROXY_SETTINGS, TCP_PROXY_SETTINGS } from "../schema/proxy.ts";
import type { BlockDraft, ServerDraft } from "./drafts.ts";
import { mergeLimitConn } from "./limit-conn.ts";
import { effectiveAccessLog } from "./logs.ts";
import { hasTls, mergeTls } from "./ssl.ts";

/** `upstreamNames`: the upstreams by lower-case name (nginx matches them case-insensitively). */
export function mergeServer(
  s: ServerDraft,
  block: BlockDraft,
  upstreamNames: ReadonlyMap<string, string>,
): ServerConfig & { proxyPassLoc: SourceLoc } {
  const base = block.family === "stream" ? DEFAULT_PROXY_SETTINGS : TCP_PROXY_SETTINGS;
  const handler = s.handler!;
  let proxyPass: string | null = null;
  if (handler.kind === "proxy_pass") {
    const upstream = upstreamNames.get(handler.value.toLowerCase());
    proxyPass = upstream ?? handler.value;
    // yaoweibin's proxy_pass defaults to port 80.
    if (!upstream && block.family === "tcp" && !/:\d+$/.test(proxyPass)) proxyPass += ":80";
  }
  const limitConn = mergeLimitConn(s.limitConn, block.limitConn);
  const bind = s.limitConn.proxyBind ?? block.limitConn.proxyBind;
  return {
    listen: s.listen,
    proxyPass,
    return: handler.kind === "return" ? handler.value : null,
    ...(handler.kind === "pass" && { pass: handler.value }),
    set: s.set,
    // nginx's merge: a server{} with rules of its own does not inherit stream{}'s.
    access: s.access.length > 0 ? s.access : block.access,
    ...(limitConn && { limitConn }),
    ...(bind !== null && bind !== "off" && { proxyBind: bind }),
    ...realip(s.realipFrom.length > 0 ? s.realipFrom : block.realipFrom),
    ...((s.errorLogs.length > 0 || block.errorLogs.length > 0) &&
      { errorLogs: s.errorLogs.length > 0 ? s.errorLogs : block.errorLogs }),
    proxy: { ...base, ...block.overrides, ...s.overrides },
    // Only where written: a server without TLS reads the same as from YAML.
    ...(block.family === "stream" && hasTls(block.tls, s) && { tls: mergeTls(block.tls, s.tls, s.listen) }),
    // nginx's merge: a server{} with its own access_log (or `off`) uses only that.
    ...(s.serverNames.length > 0 && { serverNames: s.serverNames }),
    accessLog: effectiveAccessLog(s.accessLog.logs.length || s.accessLog.off ? s.accessLog : block.accessLog),
    loc: s.loc,
    proxyPassLoc: handler.loc,
  };
}

/** Only where set, so a server without set_real_ip_from reads as it always has. */
function realip(from: readonly string[]): { realipFrom?: readonly string[] } {
  return from.length > 0 ? { realipFrom: from } : {};
}
