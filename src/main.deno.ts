// Deno entry.
import defaultConfig from "./default.yaml" with { type: "text" };
import { runCli } from "./cli.ts";
import { denoRuntime } from "./runtime/deno/index.ts";

const code = await runCli({ runtime: denoRuntime, argv: Deno.args, defaultConfig, cwd: Deno.cwd() });
Deno.exit(code);
