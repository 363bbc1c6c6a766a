import type { Runtime } from "../core/runtime.ts";

// Held in variables so tsc does not pull Bun's and Deno's adapters into Node's type check. This
// file runs as source (.ts: Bun, Deno in a checkout) or built (.js: Node, and Deno from an npm
// install, which refuses to strip types under node_modules); the adapters sit beside it either way.
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const BUN_ADAPTER = `./bun/index${EXT}`;
const DENO_ADAPTER = `./deno/index${EXT}`;

/** The adapter for the runtime this code is running on. */
export async function detectRuntime(): Promise<Runtime> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return ((await import(BUN_ADAPTER)) as { bunRuntime: Runtime }).bunRuntime;
  if (g.Deno !== undefined) return ((await import(DENO_ADAPTER)) as { denoRuntime: Runtime }).denoRuntime;
  return (await import("./node/index.ts")).nodeRuntime;
}
