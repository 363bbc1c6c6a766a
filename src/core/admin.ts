// The admin endpoint as one fetch-style handler (each runtime serves it with its own HTTP
// server): status JSON, Prometheus metrics, container probes, the live status page, and
// NGINX Plus-like runtime changes to upstream servers. Off unless the config has `admin`;
// loopback unless it names another address; an optional bearer token guards all but /healthz.
import { parseHostPort } from "./config/values/address.ts";
import { type UpstreamServerConfig } from "./config/model.ts";
import { DEFAULT_SERVER } from "./config/schema/upstream-server.ts";
import { kindOf, type Mutable, setField } from "./config/schema/row.ts";
import { refusedParam, SERVER_PARAM_ROWS } from "./config/schema/upstream-server.ts";
import type { RunningBalancer } from "./running-balancer.ts";
import type { Logger } from "./log.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import type { Runtime } from "./runtime.ts";
import { saveUpstreamState } from "./state.ts";
import { serverStatus, snapshot, type StatusSnapshot, upstreamStatus } from "./status.ts";
import { STATUS_PAGE_HTML } from "./status-page.ts";
import { sumSnapshots } from "./status-sum.ts";
import type { Upstream } from "./upstream.ts";

export interface AdminContext {
  readonly runtime: Pick<Runtime, "name" | "version" | "pid" | "writeTextFile">;
  readonly version: string;
  /** Epoch ms of the start, for uptime. */
  readonly startedMs: number;
  /** The running balancer; null before it listens. */
  instance(): RunningBalancer | null;
  /** The token of the config in force (a reload can change it); null = none. */
  token(): string | null;
  /** False once a stop has begun: /readyz then says so, so probes stop sending traffic. */
  accepting(): boolean;
  readonly logger: Logger;
  /** With worker processes: the other workers' snapshots, to sum with this one's. */
  readonly otherWorkers?: () => Promise<readonly unknown[]>;
}

export type AdminHandler = (request: Request) => Promise<Response>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function createAdminHandler(ctx: AdminContext): AdminHandler {
  return async (request) => {
    try {
      return await route(ctx, request);
    } catch (e) {
      if (e instanceof HttpError) return json({ error: e.message }, e.status, e.headers);
      ctx.logger.log(
        "error",
        `admin: ${request.method} ${new URL(request.url).pathname} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      return json({ error: "internal error" }, 500);
    }
  };
}

async function route(ctx: AdminContext, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const method = request.method === "HEAD" ? "GET" : request.method;

  // Liveness needs no token: a probe only learns that the process answers.
  if (path === "/healthz") {
    allow(method, ["GET"]);
    return text("ok\n");
  }
  authorize(ctx, request, url, method);

  const instance = ctx.instance();
  if (!instance) throw new HttpError(503, "starting");

  switch (path) {
    case "/":
      allow(method, ["GET"]);
      return new Response(STATUS_PAGE_HTML, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          // Everything is inline; the page only talks back to this endpoint.
          "content-security-policy":
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
        },
      });
    case "/status":
      allow(method, ["GET"]);
      return json(await currentSnapshot(ctx, instance));
    case "/metrics":
      allow(method, ["GET"]);
      return new Response(renderMetrics(await currentSnapshot(ctx, instance)), {
        headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
      });
    case "/readyz":
      allow(method, ["GET"]);
      return readiness(await currentSnapshot(ctx, instance));
  }

  const api = /^\/api\/upstreams(?:\/([^/]+)(?:\/servers(?:\/([^/]+))?)?)?$/.exec(path);
  if (!api) throw new HttpError(404, `no such endpoint: ${path}`);
  const [, rawName, rawServer] = api;
  const isServers = path.includes("/servers");
  if (rawName === undefined) {
    allow(method, ["GET"]);
    const all: Record<string, unknown> = {};
    for (const u of instance.balancer.upstreamList()) all[u.name] = upstreamStatus(u);
    return json(all);
  }
  const upstream = findUpstream(instance, decode(rawName));
  if (!isServers) {
    allow(method, ["GET"]);
    return json(upstreamStatus(upstream));
  }
  if (rawServer === undefined) {
    allow(method, ["GET", "POST"]);
    if (method === "GET") return json(upstreamStatus(upstream).servers);
    return addServer(ctx, instance, upstream, await body(request));
  }
  const address = decode(rawServer);
  allow(method, ["GET", "PATCH", "DELETE"]);
  if (method === "GET") return json(serverJson(upstream, address));
  if (method === "PATCH") return patchServer(ctx, instance, upstream, address, await body(request));
  return removeServer(ctx, instance, upstream, address);
}

/** This process's snapshot, summed with every other worker's when there are workers. */
async function currentSnapshot(ctx: AdminContext, instance: RunningBalancer): Promise<StatusSnapshot> {
  const own = localSnapshot(ctx, instance);
  return ctx.otherWorkers ? sumSnapshots(own, await ctx.otherWorkers()) : own;
}

export function localSnapshot(ctx: AdminContext, instance: RunningBalancer): StatusSnapshot {
  return snapshot({
    version: ctx.version,
    runtime: { name: ctx.runtime.name, version: ctx.runtime.version, pid: ctx.runtime.pid },
    startedMs: ctx.startedMs,
    accepting: ctx.accepting(),
    balancer: instance.balancer,
  });
}

/** Ready: listening, and every upstream has a server that takes sessions. */
function readiness(s: StatusSnapshot): Response {
  const problems: string[] = [];
  if (!s.accepting) problems.push("stopping");
  if (s.listeners.length === 0) problems.push("not listening");
  for (const u of Object.values(s.upstreams)) {
    if (u.servers_up === 0) problems.push(`upstream "${u.name}" has no server up`);
  }
  return json({ ready: problems.length === 0, problems }, problems.length === 0 ? 200 : 503);
}

// --- auth ---

/**
 * With a token, every request needs it: `Authorization: Bearer TOKEN`, or for reads
 * `?token=TOKEN` (a browser cannot add a header to the page it opens). Without one, writes
 * still need what a web page cannot forge: a JSON body (a cross-site form cannot send one
 * without a preflight this endpoint never answers) and a Host that is an address or
 * localhost (a page that rebinds its name to 127.0.0.1 keeps its own name in Host).
 */
function authorize(ctx: AdminContext, request: Request, url: URL, method: string): void {
  const token = ctx.token();
  const write = method !== "GET";
  if (token !== null) {
    const header = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1]?.trim();
    const given = header ?? (write ? undefined : url.searchParams.get("token") ?? undefined);
    if (given === undefined || !sameSecret(given, token)) {
      throw new HttpError(401, "a bearer token is required (Authorization: Bearer TOKEN)", {
        "www-authenticate": 'Bearer realm="streamlb"',
      });
    }
    return;
  }
  if (write && !localHost(request.headers.get("host") ?? "")) {
    throw new HttpError(403, "without a token, changes are taken only with Host set to an IP address or localhost");
  }
}

/** Compares in time independent of where the strings differ. */
function sameSecret(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

function localHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return name === "localhost" || /^[\d.]+$/.test(name) || name.includes(":");
}

// --- runtime changes ---

type Json = Record<string, unknown>;

async function body(request: Request): Promise<Json> {
  if (!/^application\/json\b/i.test(request.headers.get("content-type") ?? "")) {
    throw new HttpError(415, "send the body as JSON (Content-Type: application/json)");
  }
  let parsed: unknown;
  try {
    parsed = await request.json();
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HttpError(400, "the body must be a JSON object");
  }
  return parsed as Json;
}

/** The server parameters the API may change: the schema's rows marked for it. */
const ADMIN_ROWS = SERVER_PARAM_ROWS.filter((r) => r.admin);
const PARAMS = ADMIN_ROWS.map((r) => r.name);

/** The server parameters of a request body, checked as nginx checks the `server` directive's. */
function serverParams(b: Json, base: UpstreamServerConfig, upstream: Upstream): UpstreamServerConfig {
  const s: Mutable<UpstreamServerConfig> = { ...base };
  for (const r of ADMIN_ROWS) {
    if (!(r.name in b)) continue;
    const kind = kindOf<unknown>(r);
    const value = kind.fromJson(b[r.name]);
    if (value === null) throw new HttpError(400, kind.jsonError(r.name));
    if (refusedParam(r, upstream.config.method.kind, value)) {
      throw new HttpError(400, `balancing method does not support parameter "${r.name}"`);
    }
    setField(s, r, value);
  }
  return s;
}

function unknownKeys(b: Json, allowed: readonly string[]): void {
  const bad = Object.keys(b).filter((k) => !allowed.includes(k));
  if (bad.length) throw new HttpError(400, `unknown field "${bad[0]}" (expected: ${allowed.join(", ")})`);
}

async function addServer(ctx: AdminContext, instance: RunningBalancer, upstream: Upstream, b: Json): Promise<Response> {
  unknownKeys(b, ["server", "address", ...PARAMS]);
  const address = b["server"] ?? b["address"];
  if (typeof address !== "string") throw new HttpError(400, `"server" must be the address, as "host:port"`);
  const hp = parseHostPort(address);
  if (!hp) throw new HttpError(400, `invalid server address "${address}": expected host:port or [v6]:port`);
  const loc = { file: "admin API", line: 0, col: 0 };
  const server = serverParams(b, { ...DEFAULT_SERVER, address, host: hp.host, port: hp.port, loc }, upstream);
  await change(ctx, instance, upstream, `+${address}`, () => {
    if (upstream.config.servers.some((s) => s.address === address)) {
      throw new HttpError(409, `upstream "${upstream.name}" already has server ${address}`);
    }
    upstream.addServer(server);
  });
  return json(serverJson(upstream, address), 201);
}

async function patchServer(
  ctx: AdminContext,
  instance: RunningBalancer,
  upstream: Upstream,
  address: string,
  b: Json,
): Promise<Response> {
  unknownKeys(b, PARAMS);
  await change(ctx, instance, upstream, `${address} ${JSON.stringify(b)}`, () => {
    const current = configOf(upstream, address);
    upstream.replaceServer(address, serverParams(b, current, upstream));
  });
  return json(serverJson(upstream, address));
}

async function removeServer(
  ctx: AdminContext,
  instance: RunningBalancer,
  upstream: Upstream,
  address: string,
): Promise<Response> {
  await change(ctx, instance, upstream, `-${address}`, () => {
    configOf(upstream, address);
    upstream.removeServer(address);
  });
  return json(upstreamStatus(upstream).servers);
}

/**
 * Applies a change in turn with reloads, then writes the upstream's state file; if that
 * write fails the change is undone, so what runs is what a reload would bring back.
 */
async function change(
  ctx: AdminContext,
  instance: RunningBalancer,
  upstream: Upstream,
  what: string,
  edit: () => void,
): Promise<void> {
  await instance.exclusive(async () => {
    const before = upstream.config;
    edit();
    // At once, before any await: an added server starts in its health check's initial state.
    instance.balancer.health.sync(upstream);
    try {
      await saveUpstreamState(ctx.runtime, upstream.config);
    } catch (e) {
      upstream.update(before);
      instance.balancer.health.sync(upstream);
      throw new HttpError(
        500,
        `the change was undone: writing "${before.state}" failed (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  });
  const kept = upstream.config.state ? `, kept in ${upstream.config.state}` : ", until the next reload";
  ctx.logger.log("notice", `admin API: upstream ${upstream.name}: ${what}${kept}`);
}

function findUpstream(instance: RunningBalancer, name: string): Upstream {
  const u = instance.balancer.upstream(name);
  if (!u) throw new HttpError(404, `no upstream "${name}"`);
  return u;
}

function configOf(upstream: Upstream, address: string): UpstreamServerConfig {
  const found = upstream.config.servers.filter((s) => s.address === address);
  if (found.length === 0) throw new HttpError(404, `upstream "${upstream.name}" has no server ${address}`);
  if (found.length > 1) {
    throw new HttpError(409, `upstream "${upstream.name}" has ${found.length} servers ${address}: change them in the config`);
  }
  return found[0]!;
}

function serverJson(upstream: Upstream, address: string): unknown {
  configOf(upstream, address);
  const peer = [...upstream.allPeers()].find((p) => p.address === address)!;
  const checked = (upstream.config as { readonly healthCheck?: unknown }).healthCheck != null;
  return serverStatus(peer, upstream.clock(), checked);
}

// --- responses ---

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, `${method} is not allowed here`, {
      allow: [...methods, ...(methods.includes("GET") ? ["HEAD"] : [])].join(", "),
    });
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `invalid path segment "${segment}"`);
  }
}

function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(value, null, 2)}\n`, {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

function text(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

// --- the endpoint's lifetime ---
