import type { Runtime } from "../core/runtime.ts";

// Held in variables so tsc does not pull Bun's and Deno's adapters into Node's build; under
// Bun and Deno this file runs from source, where the .ts paths are right.
const BUN_ADAPTER = "./bun.ts";
const DENO_ADAPTER = "./deno.ts";

/** The adapter for the runtime this code is running on. */
export async function detectRuntime(): Promise<Runtime> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return ((await import(BUN_ADAPTER)) as { bunRuntime: Runtime }).bunRuntime;
  if (g.Deno !== undefined) return ((await import(DENO_ADAPTER)) as { denoRuntime: Runtime }).denoRuntime;
  return (await import("./node.ts")).nodeRuntime;
}
