// An upstream's `server` line, in stream{} (and a state file) and in yaoweibin's tcp{}: the
// schema's parameter rows, the address in ngx_parse_url's words.
import { parseHostPort } from "../values/address.ts";
import { type BalanceMethod, type UpstreamServerConfig } from "../model.ts";
import { DEFAULT_SERVER } from "../schema/upstream-server.ts";
import type { NginxDirective } from "./tokenizer.ts";
import { kindOf, type Mutable, setField } from "../schema/row.ts";
import { SERVER_PARAM_BY_NAME, type ServerParams } from "../schema/upstream-server.ts";
import { atoi } from "../values/kinds.ts";
import { isAddressLiteral, resolveProblem } from "../resolver.ts";
import type { ReaderContext } from "./context.ts";

export function streamUpstreamServer(cx: ReaderContext, d: NginxDirective, method: BalanceMethod["kind"]): UpstreamServerConfig {
  const [address, ...params] = d.args as [string, ...string[]];
  const s: Mutable<ServerParams> = { ...DEFAULT_SERVER };
  let resolve = false;
  let service: string | null = null;
  // nginx reads the parameters before the address, so a bad parameter is reported first.
  for (const p of params) {
    const row = serverParam(cx, d, p, s, method);
    if (row) continue;
    if (p === "resolve") resolve = true;
    else if (p.startsWith("service=")) service = p.slice(8);
    else cx.fail(d, `invalid parameter "${p}"`);
    if (service === "") cx.fail(d, "service is empty");
  }
  if (service !== null) {
    // A service names a domain and takes its ports from the SRV records.
    const bare = !/:\d+$/.test(address) || /^\[[^\]]*\]$/.test(address);
    const problem = resolveProblem(address, address.replace(/^\[|\]$/g, ""), !bare, resolve, service);
    if (problem) cx.fail(d, problem);
    return { ...s, address, host: address, port: 0, resolve, service, loc: cx.loc(d) };
  }
  if (address.toLowerCase().startsWith("unix:")) {
    if (resolve) cx.fail(d, `invalid parameter "resolve"`);
    return { ...s, address, host: "", port: 0, unixPath: unixPath(cx, d, address), loc: cx.loc(d) };
  }
  const hp = upstreamAddress(cx, d, address, null);
  // An address literal is its own answer: nothing to look up, as nginx does.
  const dynamic = resolve && !isAddressLiteral(hp.host);
  return { ...s, address, host: hp.host, port: hp.port, ...(dynamic && { resolve: true }), loc: cx.loc(d) };
}

/** yaoweibin's server: address first, port 80 by default, and its own parameter set. */
export function tcpUpstreamServer(cx: ReaderContext, d: NginxDirective, method: BalanceMethod["kind"]): UpstreamServerConfig {
  const [written, ...params] = d.args as [string, ...string[]];
  const hp = upstreamAddress(cx, d, written, 80);
  const address = hp.defaulted ? `${written}:80` : written;
  const s: Mutable<ServerParams> = { ...DEFAULT_SERVER };
  for (const p of params) {
    if (serverParam(cx, d, p, s, method, true)) continue;
    // yaoweibin's module matches these by prefix, and reads `backup` only where allowed.
    if (p.startsWith("max_busy=")) {
      paramInt(cx, d, p, "max_busy=");
      cx.fail(d, `the "max_busy" parameter of "server" is not supported yet`);
    } else if (p.startsWith("backup") && !SERVER_PARAM_BY_NAME.get("backup")!.refusedWith.includes(method)) {
      s.backup = true;
    } else if (p.startsWith("down")) {
      s.down = true;
    } else {
      cx.fail(d, `invalid parameter "${p}"`);
    }
  }
  return { ...s, address, host: hp.host, port: hp.port, loc: cx.loc(d) };
}

/**
 * One `name=value` (or bare flag) parameter of the schema's rows into `s`; false when `p`
 * is none of them (in tcp{}, none of those tcp{} reads as stream{} does).
 */
function serverParam(
  cx: ReaderContext,
  d: NginxDirective,
  p: string,
  s: Mutable<ServerParams>,
  method: BalanceMethod["kind"],
  tcp = false,
): boolean {
  const eq = p.indexOf("=");
  const row = SERVER_PARAM_BY_NAME.get(eq < 0 ? p : p.slice(0, eq));
  if (!row || (tcp && !row.tcp)) return false;
  const kind = kindOf<unknown>(row);
  if (kind.flag !== (eq < 0)) cx.fail(d, `invalid parameter "${p}"`);
  // Plus refuses slow_start with hash and random like backup: the method read so far decides.
  if (row.refusedWith.includes(method)) cx.fail(d, `balancing method does not support parameter "${p}"`);
  const value = kind.flag ? true : kind.fromWord(p.slice(eq + 1));
  if (value === null) cx.fail(d, `invalid parameter "${p}"`);
  setField(s, row, value);
  return true;
}

function paramInt(cx: ReaderContext, d: NginxDirective, p: string, prefix: string): number {
  const n = atoi(p.slice(prefix.length));
  if (n === null) cx.fail(d, `invalid parameter "${p}"`);
  return n;
}

/** `unix:/path` of an upstream server or proxy_pass: the path, in ngx_parse_url's words when it is none. */
export function unixPath(cx: ReaderContext, d: NginxDirective, text: string): string {
  const path = text.slice(5);
  if (path.length === 0) cx.fail(d, `no path in the unix domain socket in upstream "${text}"`);
  if (path.length >= 108) cx.fail(d, `too long path in the unix domain socket in upstream "${text}"`);
  return path;
}

/** host:port or [v6]:port, in ngx_parse_url's words when it is not. */
export function upstreamAddress(
  cx: ReaderContext,
  d: NginxDirective,
  text: string,
  defaultPort: number | null,
): { host: string; port: number; defaulted: boolean } {
  const where = `in upstream "${text}"`;
  if (text.startsWith("unix:")) cx.fail(d, `unix sockets are not supported yet ${where}`);
  const hp = parseHostPort(text);
  if (hp) return { ...hp, defaulted: false };
  const v6 = /^\[[^\]]*\]$/.test(text);
  const hasPort = !v6 && text.includes(":");
  if (!hasPort) {
    if (defaultPort === null) cx.fail(d, `no port ${where}`);
    const withPort = parseHostPort(`${text}:${defaultPort}`);
    if (withPort) return { ...withPort, defaulted: true };
    cx.fail(d, `invalid host ${where}`);
  }
  const colon = text.lastIndexOf(":");
  if (colon === 0) cx.fail(d, `no host ${where}`);
  if (!/^\d{1,5}$/.test(text.slice(colon + 1)) || !parseHostPort(`127.0.0.1${text.slice(colon)}`)) {
    cx.fail(d, `invalid port ${where}`);
  }
  cx.fail(d, `invalid host ${where}`);
}
