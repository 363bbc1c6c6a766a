// Bun entry, also the one `bun build --compile` turns into dist/streamlb with the default embedded.
import defaultConfig from "./default.yaml" with { type: "text" };
import { runCli } from "./cli.ts";
import { bunRuntime } from "./runtime/bun/index.ts";

const code = await runCli({ runtime: bunRuntime, argv: Bun.argv.slice(2), defaultConfig, cwd: process.cwd() });
process.exit(code);
