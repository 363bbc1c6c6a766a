// NGINX Plus's `state FILE` for an upstream: the server list as the admin API left it, in
// nginx's `server` line syntax. Written after every runtime change; read on start and on
// every reload, where it replaces the config's servers, so runtime changes survive both.
// Without `state`, a reload applies the config's servers as written (Plus does the same).
import type { Config, UpstreamConfig, UpstreamServerConfig } from "./config/model.ts";
import { parseUpstreamState } from "./config/read-nginx/reader.ts";
import { serverLine } from "./config/write/nginx.ts";
import type { Runtime } from "./runtime.ts";

const HEADER = "# streamlb upstream state: the admin API rewrites this file on every change.\n" +
  "# Edit it only while streamlb is stopped, or use the API.\n";

/** The config with each `state` upstream's servers taken from its file, when the file exists. */
export async function withUpstreamState(runtime: Pick<Runtime, "readTextFile">, config: Config): Promise<Config> {
  const stateful = [...config.stream.upstreams.values()].filter((u) => u.state);
  if (stateful.length === 0) return config;
  const upstreams = new Map(config.stream.upstreams);
  for (const u of stateful) {
    const path = u.state!;
    let text: string;
    try {
      text = await runtime.readTextFile(path);
    } catch (e) {
      // No file yet: the config's servers are the starting list.
      if (isNotFound(e)) continue;
      throw new Error(
        `open() "${path}" failed (${e instanceof Error ? e.message : String(e)}) for the state of upstream "${u.name}"`,
      );
    }
    const servers = parseUpstreamState(text, path);
    if ((u.method.kind === "hash" || u.method.kind === "random") && servers.some((s) => s.backup)) {
      throw new Error(`balancing method does not support parameter "backup" in ${path} (upstream "${u.name}")`);
    }
    upstreams.set(u.name, { ...u, servers });
  }
  return { ...config, stream: { ...config.stream, upstreams } };
}

/** Persists an upstream's server list to its state file (no-op without `state`). */
export async function saveUpstreamState(
  runtime: Pick<Runtime, "writeTextFile">,
  upstream: UpstreamConfig,
): Promise<void> {
  if (!upstream.state) return;
  await runtime.writeTextFile(upstream.state, formatUpstreamState(upstream.servers));
}

export function formatUpstreamState(servers: readonly UpstreamServerConfig[]): string {
  return HEADER + servers.map((s) => `${serverLine(s)}\n`).join("");
}

function isNotFound(e: unknown): boolean {
  const err = e as { code?: unknown; name?: unknown } | null;
  return err?.code === "ENOENT" || err?.name === "NotFound";
}
